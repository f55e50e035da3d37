//! The central bank's API Pix (v2) bodies, in Portuguese as the standard names them, as far
//! as immediate charges (`cob`), received Pix and returns (`devolucao`) read them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calendario {
    /// Seconds the charge stays payable, from its creation.
    pub expiracao: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criacao: Option<String>,
}

/// Amounts are strings `\d{1,10}\.\d{2}` in BRL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Valor {
    pub original: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CobRequest {
    pub calendario: Calendario,
    pub valor: Valor,
    /// The receiver's Pix key.
    pub chave: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solicitacao_pagador: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Loc {
    pub id: i64,
    pub location: String,
    pub tipo_cob: String,
}

/// A received Pix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pix {
    pub end_to_end_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    pub valor: String,
    pub horario: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devolucoes: Vec<Devolucao>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cob {
    pub txid: String,
    pub calendario: Calendario,
    #[serde(default)]
    pub revisao: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loc: Option<Loc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `ATIVA`, `CONCLUIDA`, `REMOVIDA_PELO_USUARIO_RECEBEDOR`, `REMOVIDA_PELO_PSP`.
    pub status: String,
    pub valor: Valor,
    pub chave: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pix_copia_e_cola: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pix: Vec<Pix>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevolucaoRequest {
    pub valor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Devolucao {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtr_id: Option<String>,
    pub valor: String,
    /// `EM_PROCESSAMENTO`, `DEVOLVIDO`, `NAO_REALIZADO`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    /// When it was asked for and, once made, settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horario: Option<DevolucaoHorario>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevolucaoHorario {
    pub solicitacao: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidacao: Option<String>,
}

/// `GET /pix?inicio=&fim=`: the Pix received in a period, a page at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PixConsultados {
    pub parametros: Parametros,
    /// The spec's `required` names `cobs`, its property is `pix`: absent reads as none.
    #[serde(default)]
    pub pix: Vec<Pix>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parametros {
    pub inicio: String,
    pub fim: String,
    pub paginacao: Paginacao,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paginacao {
    pub pagina_atual: i64,
    pub itens_por_pagina: i64,
    pub quantidade_de_paginas: i64,
    pub quantidade_total_de_itens: i64,
}

/// The webhook body: `{"pix": [...]}`, batched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub pix: Vec<Pix>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default)]
    pub scope: String,
}

/// RFC 7807 problem details, as API Pix answers errors: `{type, title, status, detail}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub detail: String,
}
