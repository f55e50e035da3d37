//! The one TLS client configuration every outbound HTTP client of the process shares (the
//! adapters', the webhook sender's): certificates verified against the system's trust
//! roots, which are read on the first handshake (once for this configuration, once for
//! each mutual-TLS client), not each time a client is built.
//!
//! A Lambda function builds its clients at start-up, before its first poll of the Runtime
//! API; reading the system store there (about 150 files per client, for each of several
//! clients) was most of the functions' init time, on a function that has a fraction of a
//! vCPU. Deferring the read to the first handshake costs that handshake one read, once per
//! process. If the store cannot be read, every handshake that needs it fails: nothing is
//! trusted without it (a mutual-TLS client with its bank's CA still trusts that CA).
//!
//! What *ring* does not do, and we therefore never offer: post-quantum key exchange
//! (X25519MLKEM768; connections use X25519 or the NIST curves) and ECDSA over P-521 (a
//! server or a Pix client key on P-521 fails closed, at the handshake or when the client is
//! made).
//!
//! The cryptography is *ring*'s, for every TLS connection of the process (these clients,
//! the AWS SDK's, the Pix sandbox's server): one provider, and the smaller of the two that
//! rustls ships, in a binary that Lambda loads at every cold start. A bank that asks for
//! our certificate (API Pix) gets a client of its own from [`mutual_client_builder`], on
//! the same provider and the same verifier, with the bank's CA trusted beside the system's.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;
use std::sync::{Arc, LazyLock, OnceLock};

/// The platform verifier, made on first use, trusting the system's roots and `extra_roots`.
#[derive(Debug)]
struct OnFirstUse {
    provider: Arc<CryptoProvider>,
    extra_roots: Vec<CertificateDer<'static>>,
    verifier: OnceLock<Result<Verifier, rustls::Error>>,
}

impl OnFirstUse {
    fn new(provider: Arc<CryptoProvider>, extra_roots: Vec<CertificateDer<'static>>) -> Self {
        Self {
            provider,
            extra_roots,
            verifier: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&Verifier, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                Verifier::new_with_extra_roots(self.extra_roots.clone(), self.provider.clone())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for OnFirstUse {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The process's one TLS provider.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: LazyLock<Arc<CryptoProvider>> =
        LazyLock::new(|| Arc::new(rustls::crypto::ring::default_provider()));
    PROVIDER.clone()
}

fn builder(
    extra_roots: Vec<CertificateDer<'static>>,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    let provider = provider();
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(OnFirstUse::new(provider, extra_roots)))
}

static CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let mut config = builder(Vec::new()).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
});

/// A client builder on the shared TLS configuration.
#[allow(clippy::disallowed_methods)] // the one place a client is started (clippy.toml)
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(CONFIG.clone())
}

/// Why a mutual-TLS client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MutualTlsError {
    #[error("client certificate: {0}")]
    Certificate(String),
    #[error("client key: {0}")]
    Key(String),
    #[error("client certificate and key: {0}")]
    Identity(String),
    #[error("bank CA: {0}")]
    Ca(String),
}

/// A client builder that presents `certificate` (PEM, the chain from ours up) with its
/// `key` (PEM), verifying the server against the system's roots and `ca` (PEM), unless it
/// is absent or blank. Everything is checked here, before any connection: a CA that is
/// PEM but no usable certificate is refused now, not at the first handshake.
pub fn mutual_client_builder(
    certificate: &str,
    key: &str,
    ca: Option<&str>,
) -> Result<reqwest::ClientBuilder, MutualTlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::PrivateKeyDer;
    let chain = CertificateDer::pem_slice_iter(certificate.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MutualTlsError::Certificate(e.to_string()))?;
    if chain.is_empty() {
        return Err(MutualTlsError::Certificate(
            "no certificate in the PEM".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|e| MutualTlsError::Key(e.to_string()))?;
    let roots = match ca.filter(|ca| !ca.trim().is_empty()) {
        Some(ca) => {
            let roots = CertificateDer::pem_slice_iter(ca.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| MutualTlsError::Ca(e.to_string()))?;
            if roots.is_empty() {
                return Err(MutualTlsError::Ca("no certificate in the PEM".into()));
            }
            let mut anchors = rustls::RootCertStore::empty();
            for root in &roots {
                anchors
                    .add(root.clone())
                    .map_err(|e| MutualTlsError::Ca(e.to_string()))?;
            }
            roots
        }
        None => Vec::new(),
    };
    let mut config = builder(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| MutualTlsError::Identity(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    #[allow(clippy::disallowed_methods)] // with this module's configuration (clippy.toml)
    let client = reqwest::Client::builder().tls_backend_preconfigured(config);
    Ok(client)
}

/// The process's TLS provider, for a sandbox's server.
#[cfg(feature = "sandbox")]
pub(crate) fn server_provider() -> Arc<CryptoProvider> {
    provider()
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::{mutual_client_builder, MutualTlsError};
    use crate::pix::{SANDBOX_CA, SANDBOX_CLIENT_CERT, SANDBOX_CLIENT_KEY, SANDBOX_STRANGER_KEY};

    /// A blank CA is no CA; a CA that is PEM around something that is not a certificate,
    /// and a key that is not the certificate's, are refused when the client is made.
    #[test]
    fn mutual_tls_material_is_checked_when_the_client_is_made() {
        let (cert, key) = (SANDBOX_CLIENT_CERT, SANDBOX_CLIENT_KEY);
        for ca in [None, Some(""), Some("  \n"), Some(SANDBOX_CA)] {
            assert!(mutual_client_builder(cert, key, ca).is_ok(), "{ca:?}");
        }
        let junk = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            mutual_client_builder(cert, key, Some(junk)),
            Err(MutualTlsError::Ca(_))
        ));
        assert!(matches!(
            mutual_client_builder(cert, key, Some("no PEM here")),
            Err(MutualTlsError::Ca(_))
        ));
        assert!(matches!(
            mutual_client_builder(cert, SANDBOX_STRANGER_KEY, None),
            Err(MutualTlsError::Identity(_))
        ));
    }

    /// The shared configuration verifies: a server whose certificate no system root signed
    /// (the Pix sandbox's, from its own CA) is refused at the handshake, so a client built
    /// on it never talks to an unverified peer.
    #[tokio::test]
    async fn a_server_the_system_does_not_trust_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sandbox = crate::pix::sandbox::PixSandbox::new(
            crate::pix::sandbox::SandboxConfig::new("http://127.0.0.1:9/pix"),
        );
        tokio::spawn(sandbox.serve_mtls(listener));
        let client = super::client_builder().build().unwrap();
        let err = client
            .get(format!("https://localhost:{port}/oauth/token"))
            .send()
            .await
            .expect_err("an untrusted certificate is never accepted");
        let chain = format!("{err:?}");
        assert!(chain.contains("UnknownIssuer"), "{chain}");
    }
}
