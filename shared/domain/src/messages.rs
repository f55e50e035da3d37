//! What a failure means for the customer, in the languages of the markets served. The
//! language comes from the shop's `Accept-Language`, else from the payment's country.

use crate::catalog::Country;
use crate::failure::FailureCategory;

string_enum!(
    /// The languages failure messages are written in.
    Lang {
        En = "en",
        Id = "id",
        Th = "th",
        Ms = "ms",
        Vi = "vi",
        PtBr = "pt-BR",
        Zh = "zh",
    }
);

impl Lang {
    /// The language shoppers in `country` read most.
    pub fn of_country(country: Country) -> Lang {
        match country {
            Country::ID => Lang::Id,
            Country::TH => Lang::Th,
            Country::MY => Lang::Ms,
            Country::VN => Lang::Vi,
            Country::BR => Lang::PtBr,
            Country::PH | Country::SG => Lang::En,
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality (`id-ID`
    /// matches `id`, `pt` and `pt-PT` match `pt-BR`, `zh-*` matches `zh`).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranges: Vec<(f32, usize, &str)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
            })
            .collect();
        ranges.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        ranges.into_iter().find_map(|(_, _, tag)| {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "en" => Some(Lang::En),
                "id" | "in" => Some(Lang::Id),
                "th" => Some(Lang::Th),
                "ms" => Some(Lang::Ms),
                "vi" => Some(Lang::Vi),
                "pt" => Some(Lang::PtBr),
                "zh" => Some(Lang::Zh),
                _ => None,
            }
        })
    }
}

/// The customer-facing explanation of a failure category.
pub fn failure_message(category: FailureCategory, lang: Lang) -> &'static str {
    use FailureCategory as C;
    use Lang as L;
    match (category, lang) {
        (c, L::En) => c.message_en(),

        (C::InsufficientBalance, L::Id) => "Saldo dompet Anda tidak cukup untuk pembayaran ini. Isi saldo lalu coba lagi, atau bayar dengan cara lain.",
        (C::UserCancelled, L::Id) => "Pembayaran dibatalkan di aplikasi dompet. Anda bisa mencoba lagi.",
        (C::Expired, L::Id) => "Pembayaran tidak disetujui tepat waktu. Silakan coba lagi.",
        (C::RiskRejected, L::Id) => "Dompet Anda menolak pembayaran ini. Silakan bayar dengan dompet lain atau kartu.",
        (C::LimitExceeded, L::Id) => "Pembayaran ini melebihi batas dompet Anda. Silakan bayar dengan dompet lain atau kartu.",
        (C::WalletUnavailable, L::Id) => "Dompet sedang tidak tersedia. Coba dompet lain, atau coba lagi beberapa menit lagi.",
        (C::NetworkError, L::Id) => "Kami tidak dapat menghubungi dompet tepat waktu. Silakan coba lagi.",
        (C::InvalidAccount, L::Id) => "Akun dompet ini tidak dapat menerima pembayaran. Periksa akun Anda atau bayar dengan cara lain.",
        (C::AuthenticationFailed, L::Id) => "Dompet ini sedang tidak dapat digunakan di toko ini. Silakan bayar dengan cara lain.",
        (C::Duplicate, L::Id) => "Pembayaran ini sudah dilakukan.",
        (C::Unknown, L::Id) => "Pembayaran tidak berhasil. Silakan coba lagi atau bayar dengan cara lain.",

        (C::InsufficientBalance, L::Th) => "ยอดเงินในวอลเล็ตของคุณไม่พอสำหรับการชำระเงินนี้ กรุณาเติมเงินแล้วลองอีกครั้ง หรือชำระด้วยวิธีอื่น",
        (C::UserCancelled, L::Th) => "การชำระเงินถูกยกเลิกในแอปวอลเล็ต คุณสามารถลองอีกครั้งได้",
        (C::Expired, L::Th) => "การชำระเงินไม่ได้รับการยืนยันภายในเวลาที่กำหนด กรุณาลองอีกครั้ง",
        (C::RiskRejected, L::Th) => "วอลเล็ตของคุณปฏิเสธการชำระเงินนี้ กรุณาชำระด้วยวอลเล็ตอื่นหรือบัตร",
        (C::LimitExceeded, L::Th) => "การชำระเงินนี้เกินวงเงินของวอลเล็ตคุณ กรุณาชำระด้วยวอลเล็ตอื่นหรือบัตร",
        (C::WalletUnavailable, L::Th) => "วอลเล็ตไม่พร้อมใช้งานในขณะนี้ ลองใช้วอลเล็ตอื่น หรือลองใหม่ในอีกสักครู่",
        (C::NetworkError, L::Th) => "ไม่สามารถติดต่อวอลเล็ตได้ทันเวลา กรุณาลองอีกครั้ง",
        (C::InvalidAccount, L::Th) => "บัญชีวอลเล็ตนี้ไม่สามารถรับการชำระเงินได้ กรุณาตรวจสอบบัญชีหรือชำระด้วยวิธีอื่น",
        (C::AuthenticationFailed, L::Th) => "ขณะนี้ไม่สามารถใช้วอลเล็ตนี้กับร้านค้านี้ได้ กรุณาชำระด้วยวิธีอื่น",
        (C::Duplicate, L::Th) => "การชำระเงินนี้ได้ทำไปแล้ว",
        (C::Unknown, L::Th) => "การชำระเงินไม่สำเร็จ กรุณาลองอีกครั้งหรือชำระด้วยวิธีอื่น",

        (C::InsufficientBalance, L::Ms) => "Baki e-dompet anda tidak mencukupi untuk pembayaran ini. Tambah nilai dan cuba lagi, atau bayar dengan cara lain.",
        (C::UserCancelled, L::Ms) => "Pembayaran telah dibatalkan dalam aplikasi e-dompet. Anda boleh cuba lagi.",
        (C::Expired, L::Ms) => "Pembayaran tidak diluluskan dalam masa yang ditetapkan. Sila cuba lagi.",
        (C::RiskRejected, L::Ms) => "E-dompet anda menolak pembayaran ini. Sila bayar dengan e-dompet lain atau kad.",
        (C::LimitExceeded, L::Ms) => "Pembayaran ini melebihi had e-dompet anda. Sila bayar dengan e-dompet lain atau kad.",
        (C::WalletUnavailable, L::Ms) => "E-dompet tidak tersedia buat masa ini. Cuba e-dompet lain, atau cuba lagi sebentar lagi.",
        (C::NetworkError, L::Ms) => "Kami tidak dapat menghubungi e-dompet tepat pada masanya. Sila cuba lagi.",
        (C::InvalidAccount, L::Ms) => "Akaun e-dompet ini tidak boleh menerima pembayaran. Sila semak akaun anda atau bayar dengan cara lain.",
        (C::AuthenticationFailed, L::Ms) => "E-dompet ini tidak boleh digunakan di kedai ini buat masa ini. Sila bayar dengan cara lain.",
        (C::Duplicate, L::Ms) => "Pembayaran ini telah pun dibuat.",
        (C::Unknown, L::Ms) => "Pembayaran tidak berjaya. Sila cuba lagi atau bayar dengan cara lain.",

        (C::InsufficientBalance, L::Vi) => "Số dư ví của bạn không đủ cho khoản thanh toán này. Hãy nạp thêm tiền rồi thử lại, hoặc thanh toán bằng cách khác.",
        (C::UserCancelled, L::Vi) => "Thanh toán đã bị hủy trong ứng dụng ví. Bạn có thể thử lại.",
        (C::Expired, L::Vi) => "Thanh toán không được xác nhận kịp thời. Vui lòng thử lại.",
        (C::RiskRejected, L::Vi) => "Ví của bạn đã từ chối khoản thanh toán này. Vui lòng thanh toán bằng ví khác hoặc thẻ.",
        (C::LimitExceeded, L::Vi) => "Khoản thanh toán vượt quá hạn mức ví của bạn. Vui lòng thanh toán bằng ví khác hoặc thẻ.",
        (C::WalletUnavailable, L::Vi) => "Ví hiện không khả dụng. Hãy thử ví khác hoặc thử lại sau vài phút.",
        (C::NetworkError, L::Vi) => "Chúng tôi không kết nối được với ví kịp thời. Vui lòng thử lại.",
        (C::InvalidAccount, L::Vi) => "Tài khoản ví này không thể nhận thanh toán. Vui lòng kiểm tra tài khoản hoặc thanh toán bằng cách khác.",
        (C::AuthenticationFailed, L::Vi) => "Hiện không thể dùng ví này tại cửa hàng. Vui lòng thanh toán bằng cách khác.",
        (C::Duplicate, L::Vi) => "Khoản thanh toán này đã được thực hiện.",
        (C::Unknown, L::Vi) => "Thanh toán không thành công. Vui lòng thử lại hoặc thanh toán bằng cách khác.",

        (C::InsufficientBalance, L::PtBr) => "O saldo da sua carteira não é suficiente para este pagamento. Recarregue e tente de novo, ou pague de outra forma.",
        (C::UserCancelled, L::PtBr) => "O pagamento foi cancelado no aplicativo. Você pode tentar de novo.",
        (C::Expired, L::PtBr) => "O pagamento não foi aprovado a tempo. Tente de novo.",
        (C::RiskRejected, L::PtBr) => "Sua carteira recusou este pagamento. Pague com outra carteira ou com cartão.",
        (C::LimitExceeded, L::PtBr) => "Este pagamento ultrapassa o limite da sua carteira. Pague com outra carteira ou com cartão.",
        (C::WalletUnavailable, L::PtBr) => "A carteira está indisponível no momento. Tente outra carteira ou tente de novo em alguns minutos.",
        (C::NetworkError, L::PtBr) => "Não conseguimos falar com a carteira a tempo. Tente de novo.",
        (C::InvalidAccount, L::PtBr) => "Esta conta não pode receber o pagamento. Verifique a conta ou pague de outra forma.",
        (C::AuthenticationFailed, L::PtBr) => "Esta carteira não pode ser usada nesta loja agora. Pague de outra forma.",
        (C::Duplicate, L::PtBr) => "Este pagamento já foi feito.",
        (C::Unknown, L::PtBr) => "O pagamento não foi concluído. Tente de novo ou pague de outra forma.",

        (C::InsufficientBalance, L::Zh) => "您的钱包余额不足以完成此笔付款。请充值后重试，或改用其他方式付款。",
        (C::UserCancelled, L::Zh) => "付款已在钱包应用中取消。您可以重试。",
        (C::Expired, L::Zh) => "付款未在规定时间内确认。请重试。",
        (C::RiskRejected, L::Zh) => "您的钱包拒绝了此笔付款。请改用其他钱包或银行卡付款。",
        (C::LimitExceeded, L::Zh) => "此笔付款超出了您的钱包限额。请改用其他钱包或银行卡付款。",
        (C::WalletUnavailable, L::Zh) => "钱包暂时不可用。请改用其他钱包，或几分钟后重试。",
        (C::NetworkError, L::Zh) => "未能及时连接到钱包。请重试。",
        (C::InvalidAccount, L::Zh) => "此钱包账户无法收款。请检查账户或改用其他方式付款。",
        (C::AuthenticationFailed, L::Zh) => "此钱包目前无法在本店使用。请改用其他方式付款。",
        (C::Duplicate, L::Zh) => "此笔付款已完成。",
        (C::Unknown, L::Zh) => "付款未成功。请重试或改用其他方式付款。",
    }
}

/// What went wrong with a refund, as the shop and its customer read it: the wording of a
/// refund, never a payment's (a refund that failed took no money from anyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundTrouble {
    /// The shop's balance at the provider does not cover the refund.
    ShopBalance,
    /// The customer's wallet account can no longer receive money.
    CustomerAccount,
    /// The refund was made, then returned by the customer's wallet or bank.
    Reversed,
    /// The provider refused or could not make it.
    Other,
}

impl RefundTrouble {
    pub fn of(category: FailureCategory, reversed: bool) -> Self {
        match (category, reversed) {
            (_, true) => RefundTrouble::Reversed,
            (FailureCategory::InsufficientBalance, _) => RefundTrouble::ShopBalance,
            (FailureCategory::InvalidAccount, _) => RefundTrouble::CustomerAccount,
            _ => RefundTrouble::Other,
        }
    }

    pub const ALL: [RefundTrouble; 4] = [
        RefundTrouble::ShopBalance,
        RefundTrouble::CustomerAccount,
        RefundTrouble::Reversed,
        RefundTrouble::Other,
    ];
}

/// The explanation of a failed or reversed refund.
pub fn refund_failure_message(trouble: RefundTrouble, lang: Lang) -> &'static str {
    use Lang as L;
    use RefundTrouble as T;
    match (trouble, lang) {
        (T::ShopBalance, L::En) => "The refund could not be made: the shop's balance with the payment provider does not cover it. No money was returned yet; the refund can be requested again.",
        (T::CustomerAccount, L::En) => "The refund could not be made: the customer's wallet account can no longer receive money. No money was returned; the amount can be refunded another way.",
        (T::Reversed, L::En) => "The refund was sent back by the customer's wallet or bank, so the money is with the shop again. The amount can be refunded again.",
        (T::Other, L::En) => "The refund could not be made by the payment provider. No money was returned; the amount can be refunded again.",

        (T::ShopBalance, L::Id) => "Pengembalian dana tidak dapat dilakukan: saldo toko di penyedia pembayaran tidak mencukupi. Belum ada dana yang dikembalikan; pengembalian dana dapat diminta lagi.",
        (T::CustomerAccount, L::Id) => "Pengembalian dana tidak dapat dilakukan: akun dompet pelanggan tidak dapat lagi menerima dana. Tidak ada dana yang dikembalikan; jumlahnya dapat dikembalikan dengan cara lain.",
        (T::Reversed, L::Id) => "Pengembalian dana dikirim balik oleh dompet atau bank pelanggan, sehingga dana kembali ke toko. Jumlahnya dapat dikembalikan lagi.",
        (T::Other, L::Id) => "Pengembalian dana tidak dapat dilakukan oleh penyedia pembayaran. Tidak ada dana yang dikembalikan; jumlahnya dapat dikembalikan lagi.",

        (T::ShopBalance, L::Th) => "ไม่สามารถคืนเงินได้ เนื่องจากยอดเงินของร้านค้าที่ผู้ให้บริการชำระเงินไม่เพียงพอ ยังไม่มีการคืนเงิน สามารถขอคืนเงินได้อีกครั้ง",
        (T::CustomerAccount, L::Th) => "ไม่สามารถคืนเงินได้ เนื่องจากบัญชีวอลเล็ตของลูกค้าไม่สามารถรับเงินได้แล้ว ไม่มีการคืนเงิน สามารถคืนเงินจำนวนนี้ด้วยวิธีอื่น",
        (T::Reversed, L::Th) => "เงินคืนถูกส่งกลับมาโดยวอลเล็ตหรือธนาคารของลูกค้า เงินจึงกลับมาอยู่ที่ร้านค้า สามารถคืนเงินจำนวนนี้ได้อีกครั้ง",
        (T::Other, L::Th) => "ผู้ให้บริการชำระเงินไม่สามารถคืนเงินได้ ไม่มีการคืนเงิน สามารถคืนเงินจำนวนนี้ได้อีกครั้ง",

        (T::ShopBalance, L::Ms) => "Bayaran balik tidak dapat dibuat: baki kedai di penyedia pembayaran tidak mencukupi. Belum ada wang dikembalikan; bayaran balik boleh diminta semula.",
        (T::CustomerAccount, L::Ms) => "Bayaran balik tidak dapat dibuat: akaun e-dompet pelanggan tidak lagi boleh menerima wang. Tiada wang dikembalikan; jumlah ini boleh dikembalikan dengan cara lain.",
        (T::Reversed, L::Ms) => "Bayaran balik telah dihantar semula oleh e-dompet atau bank pelanggan, jadi wang kembali kepada kedai. Jumlah ini boleh dibayar balik semula.",
        (T::Other, L::Ms) => "Bayaran balik tidak dapat dibuat oleh penyedia pembayaran. Tiada wang dikembalikan; jumlah ini boleh dibayar balik semula.",

        (T::ShopBalance, L::Vi) => "Không thể hoàn tiền: số dư của cửa hàng tại nhà cung cấp thanh toán không đủ. Chưa có tiền nào được hoàn; có thể yêu cầu hoàn tiền lại.",
        (T::CustomerAccount, L::Vi) => "Không thể hoàn tiền: tài khoản ví của khách hàng không còn nhận được tiền. Không có tiền nào được hoàn; có thể hoàn số tiền này bằng cách khác.",
        (T::Reversed, L::Vi) => "Khoản hoàn tiền đã bị ví hoặc ngân hàng của khách hàng trả lại, nên tiền đã về lại cửa hàng. Có thể hoàn lại số tiền này.",
        (T::Other, L::Vi) => "Nhà cung cấp thanh toán không thể thực hiện hoàn tiền. Không có tiền nào được hoàn; có thể hoàn lại số tiền này.",

        (T::ShopBalance, L::PtBr) => "O reembolso não pôde ser feito: o saldo da loja no provedor de pagamento não é suficiente. Nenhum valor foi devolvido ainda; o reembolso pode ser pedido de novo.",
        (T::CustomerAccount, L::PtBr) => "O reembolso não pôde ser feito: a conta do cliente não pode mais receber dinheiro. Nenhum valor foi devolvido; o valor pode ser reembolsado de outra forma.",
        (T::Reversed, L::PtBr) => "O reembolso foi devolvido pela carteira ou pelo banco do cliente, e o dinheiro voltou para a loja. O valor pode ser reembolsado de novo.",
        (T::Other, L::PtBr) => "O provedor de pagamento não conseguiu fazer o reembolso. Nenhum valor foi devolvido; o valor pode ser reembolsado de novo.",

        (T::ShopBalance, L::Zh) => "退款未能完成：商店在支付服务商处的余额不足。尚未退还任何款项，可以再次申请退款。",
        (T::CustomerAccount, L::Zh) => "退款未能完成：客户的钱包账户已无法收款。未退还任何款项，可以通过其他方式退还该金额。",
        (T::Reversed, L::Zh) => "退款已被客户的钱包或银行退回，款项已回到商店。可以再次退还该金额。",
        (T::Other, L::Zh) => "支付服务商未能完成退款。未退还任何款项，可以再次退还该金额。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refund_trouble_has_its_own_message_in_every_language() {
        for lang in Lang::ALL {
            let mut seen = std::collections::HashSet::new();
            for t in RefundTrouble::ALL {
                let m = refund_failure_message(t, *lang);
                assert!(m.len() > 10, "{t:?} {lang:?}");
                assert!(seen.insert(m), "{lang:?} repeats a message");
                if *lang != Lang::En {
                    assert_ne!(
                        m,
                        refund_failure_message(t, Lang::En),
                        "{t:?} {lang:?} is untranslated"
                    );
                }
                // A refund's wording never reads as a payment's.
                assert!(!FailureCategory::ALL
                    .iter()
                    .any(|c| failure_message(*c, *lang) == m));
            }
        }
    }

    #[test]
    fn every_category_has_a_distinct_message_in_every_language() {
        for lang in Lang::ALL {
            let mut seen = std::collections::HashSet::new();
            for cat in FailureCategory::ALL {
                let m = failure_message(*cat, *lang);
                assert!(m.len() > 10, "{cat:?} {lang:?}");
                assert!(seen.insert(m), "{lang:?} repeats a message");
                if *lang != Lang::En {
                    assert_ne!(m, cat.message_en(), "{cat:?} {lang:?} is untranslated");
                }
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Lang::from_accept_language("id-ID,id;q=0.9,en;q=0.8"),
            Some(Lang::Id)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, th;q=0.5, en;q=0.4"),
            Some(Lang::Th)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, vi;q=0.9"),
            Some(Lang::Vi)
        );
        assert_eq!(Lang::from_accept_language("pt-PT"), Some(Lang::PtBr));
        assert_eq!(Lang::from_accept_language("zh-Hant-TW"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept_language("ms;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language(""), None);
        assert_eq!(Lang::of_country(Country::BR), Lang::PtBr);
    }
}
