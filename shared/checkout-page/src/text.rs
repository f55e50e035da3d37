//! Every word the page shows, in the seven languages of the markets served, and amounts as
//! each market writes them. Placeholders: `{name}` a wallet's name, `{amount}` an amount,
//! `{shop}` the shop's name. A failure's reason is the domain's own
//! (`messages::failure_message`), so the page and the API word it alike.

use walletpay_domain::{Currency, Lang, Money};

pub struct Text {
    pub lang_tag: &'static str,
    pub title: &'static str,
    pub pay_to: &'static str,
    pub total: &'static str,
    pub choose: &'static str,
    /// One line under each wallet.
    pub tagline: &'static str,
    pub pay_with: &'static str,
    pub incentive: &'static str,
    pub incentive_applied: &'static str,
    pub scan: &'static str,
    pub scan_link: &'static str,
    pub expires_in: &'static str,
    pub qr_expired: &'static str,
    pub open_app: &'static str,
    pub continue_to: &'static str,
    pub push: &'static str,
    pub waiting: &'static str,
    pub confirming: &'static str,
    pub review: &'static str,
    pub failed: &'static str,
    pub try_again: &'static str,
    pub other_wallets: &'static str,
    pub pay_by_card: &'static str,
    pub back_to_shop: &'static str,
    pub paid: &'static str,
    pub continue_label: &'static str,
    pub expired: &'static str,
    pub none_payable: &'static str,
    pub refused: &'static str,
    pub not_found: &'static str,
    pub too_many: &'static str,
    pub refresh: &'static str,
    pub unavailable: &'static str,
    pub incentive_gone: &'static str,
}

const EN: Text = Text {
    lang_tag: "en",
    title: "Checkout",
    pay_to: "Pay {shop}",
    total: "Total",
    choose: "Choose your wallet",
    tagline: "Pay with the wallet you already use",
    pay_with: "Pay with {name}",
    incentive: "{amount} off your first {name} payment",
    incentive_applied: "{amount} off applied: you pay {total}",
    scan: "Scan this code with {name} or your banking app",
    scan_link: "On a computer? Scan with your phone to open {name}",
    expires_in: "Code expires in",
    qr_expired: "This code has expired.",
    open_app: "Open {name}",
    continue_to: "Continue to {name}",
    push: "Open the {name} app on your phone and approve the payment.",
    waiting: "Waiting for your payment…",
    confirming:
        "We are confirming your payment with {name}. Please wait: you will not be charged twice.",
    review: "The shop is checking this payment. Please wait.",
    failed: "The payment did not go through",
    try_again: "Try again with {name}",
    other_wallets: "Pay with another wallet",
    pay_by_card: "Pay by card",
    back_to_shop: "Back to the shop",
    paid: "Payment received. Taking you back to the shop…",
    continue_label: "Continue",
    expired: "This checkout has expired. Please go back to the shop to order again.",
    none_payable: "No wallet can take this order. Please go back to the shop.",
    refused: "That wallet cannot take this order. Please choose another.",
    not_found: "This checkout does not exist.",
    too_many: "This order has had too many payment attempts. Please go back to the shop.",
    refresh: "Check again",
    unavailable: "We cannot show this payment right now. Please reload the page in a moment.",
    incentive_gone:
        "That offer has just run out, so the price is the full amount again. Please choose again.",
};

const ID: Text = Text {
    lang_tag: "id",
    title: "Pembayaran",
    pay_to: "Bayar ke {shop}",
    total: "Total",
    choose: "Pilih dompet Anda",
    tagline: "Bayar dengan dompet yang sudah Anda pakai",
    pay_with: "Bayar dengan {name}",
    incentive: "Hemat {amount} untuk pembayaran {name} pertama Anda",
    incentive_applied: "Potongan {amount} sudah diterapkan: Anda membayar {total}",
    scan: "Pindai kode ini dengan {name} atau aplikasi bank Anda",
    scan_link: "Di komputer? Pindai dengan ponsel Anda untuk membuka {name}",
    expires_in: "Kode berlaku",
    qr_expired: "Kode ini sudah kedaluwarsa.",
    open_app: "Buka {name}",
    continue_to: "Lanjutkan ke {name}",
    push: "Buka aplikasi {name} di ponsel Anda dan setujui pembayarannya.",
    waiting: "Menunggu pembayaran Anda…",
    confirming: "Kami sedang memastikan pembayaran Anda dengan {name}. Mohon tunggu: Anda tidak akan ditagih dua kali.",
    review: "Toko sedang memeriksa pembayaran ini. Mohon tunggu.",
    failed: "Pembayaran tidak berhasil",
    try_again: "Coba lagi dengan {name}",
    other_wallets: "Bayar dengan dompet lain",
    pay_by_card: "Bayar dengan kartu",
    back_to_shop: "Kembali ke toko",
    paid: "Pembayaran diterima. Mengarahkan Anda kembali ke toko…",
    continue_label: "Lanjutkan",
    expired: "Pembayaran ini sudah kedaluwarsa. Silakan kembali ke toko untuk memesan lagi.",
    none_payable: "Tidak ada dompet yang dapat menerima pesanan ini. Silakan kembali ke toko.",
    refused: "Dompet itu tidak dapat menerima pesanan ini. Silakan pilih yang lain.",
    not_found: "Halaman pembayaran ini tidak ada.",
    too_many: "Pesanan ini sudah terlalu banyak dicoba dibayar. Silakan kembali ke toko.",
    refresh: "Periksa lagi",
    unavailable: "Kami belum dapat menampilkan pembayaran ini. Muat ulang halaman sebentar lagi.",
    incentive_gone: "Penawaran itu baru saja habis, jadi harganya kembali penuh. Silakan pilih lagi.",
};

const TH: Text = Text {
    lang_tag: "th",
    title: "ชำระเงิน",
    pay_to: "ชำระเงินให้ {shop}",
    total: "ยอดรวม",
    choose: "เลือกวอลเล็ตของคุณ",
    tagline: "ชำระด้วยวอลเล็ตที่คุณใช้อยู่แล้ว",
    pay_with: "ชำระด้วย {name}",
    incentive: "ลด {amount} สำหรับการชำระด้วย {name} ครั้งแรก",
    incentive_applied: "ใช้ส่วนลด {amount} แล้ว: คุณชำระ {total}",
    scan: "สแกนรหัสนี้ด้วย {name} หรือแอปธนาคารของคุณ",
    scan_link: "ใช้คอมพิวเตอร์อยู่? สแกนด้วยโทรศัพท์เพื่อเปิด {name}",
    expires_in: "รหัสหมดอายุใน",
    qr_expired: "รหัสนี้หมดอายุแล้ว",
    open_app: "เปิด {name}",
    continue_to: "ไปที่ {name}",
    push: "เปิดแอป {name} บนโทรศัพท์ของคุณแล้วยืนยันการชำระเงิน",
    waiting: "กำลังรอการชำระเงินของคุณ…",
    confirming: "เรากำลังยืนยันการชำระเงินกับ {name} กรุณารอสักครู่ คุณจะไม่ถูกเรียกเก็บเงินซ้ำ",
    review: "ร้านค้ากำลังตรวจสอบการชำระเงินนี้ กรุณารอสักครู่",
    failed: "การชำระเงินไม่สำเร็จ",
    try_again: "ลองอีกครั้งด้วย {name}",
    other_wallets: "ชำระด้วยวอลเล็ตอื่น",
    pay_by_card: "ชำระด้วยบัตร",
    back_to_shop: "กลับไปที่ร้านค้า",
    paid: "ได้รับการชำระเงินแล้ว กำลังพาคุณกลับไปที่ร้านค้า…",
    continue_label: "ดำเนินการต่อ",
    expired: "การชำระเงินนี้หมดเวลาแล้ว กรุณากลับไปที่ร้านค้าเพื่อสั่งซื้ออีกครั้ง",
    none_payable: "ไม่มีวอลเล็ตที่รับคำสั่งซื้อนี้ได้ กรุณากลับไปที่ร้านค้า",
    refused: "วอลเล็ตนี้รับคำสั่งซื้อนี้ไม่ได้ กรุณาเลือกวอลเล็ตอื่น",
    not_found: "ไม่พบหน้าชำระเงินนี้",
    too_many: "คำสั่งซื้อนี้พยายามชำระเงินหลายครั้งเกินไป กรุณากลับไปที่ร้านค้า",
    refresh: "ตรวจสอบอีกครั้ง",
    unavailable: "ขณะนี้ไม่สามารถแสดงการชำระเงินนี้ได้ กรุณาโหลดหน้านี้ใหม่อีกครั้งในอีกสักครู่",
    incentive_gone: "ข้อเสนอนั้นเพิ่งหมดลง ราคาจึงกลับเป็นราคาเต็ม กรุณาเลือกอีกครั้ง",
};

const MS: Text = Text {
    lang_tag: "ms",
    title: "Pembayaran",
    pay_to: "Bayar kepada {shop}",
    total: "Jumlah",
    choose: "Pilih e-dompet anda",
    tagline: "Bayar dengan e-dompet yang anda sudah guna",
    pay_with: "Bayar dengan {name}",
    incentive: "Jimat {amount} untuk pembayaran {name} pertama anda",
    incentive_applied: "Potongan {amount} digunakan: anda bayar {total}",
    scan: "Imbas kod ini dengan {name} atau aplikasi bank anda",
    scan_link: "Guna komputer? Imbas dengan telefon anda untuk membuka {name}",
    expires_in: "Kod tamat dalam",
    qr_expired: "Kod ini telah tamat tempoh.",
    open_app: "Buka {name}",
    continue_to: "Teruskan ke {name}",
    push: "Buka aplikasi {name} di telefon anda dan luluskan pembayaran.",
    waiting: "Menunggu pembayaran anda…",
    confirming: "Kami sedang mengesahkan pembayaran anda dengan {name}. Sila tunggu: anda tidak akan dicaj dua kali.",
    review: "Kedai sedang menyemak pembayaran ini. Sila tunggu.",
    failed: "Pembayaran tidak berjaya",
    try_again: "Cuba lagi dengan {name}",
    other_wallets: "Bayar dengan e-dompet lain",
    pay_by_card: "Bayar dengan kad",
    back_to_shop: "Kembali ke kedai",
    paid: "Pembayaran diterima. Membawa anda kembali ke kedai…",
    continue_label: "Teruskan",
    expired: "Pembayaran ini telah tamat tempoh. Sila kembali ke kedai untuk membuat pesanan semula.",
    none_payable: "Tiada e-dompet yang boleh menerima pesanan ini. Sila kembali ke kedai.",
    refused: "E-dompet itu tidak boleh menerima pesanan ini. Sila pilih yang lain.",
    not_found: "Halaman pembayaran ini tidak wujud.",
    too_many: "Pesanan ini telah terlalu banyak cubaan pembayaran. Sila kembali ke kedai.",
    refresh: "Semak semula",
    unavailable: "Kami tidak dapat memaparkan pembayaran ini sekarang. Sila muat semula halaman sebentar lagi.",
    incentive_gone: "Tawaran itu baru sahaja habis, jadi harganya kembali penuh. Sila pilih semula.",
};

const VI: Text = Text {
    lang_tag: "vi",
    title: "Thanh toán",
    pay_to: "Thanh toán cho {shop}",
    total: "Tổng cộng",
    choose: "Chọn ví của bạn",
    tagline: "Thanh toán bằng ví bạn vẫn dùng",
    pay_with: "Thanh toán bằng {name}",
    incentive: "Giảm {amount} cho lần thanh toán {name} đầu tiên",
    incentive_applied: "Đã giảm {amount}: bạn trả {total}",
    scan: "Quét mã này bằng {name} hoặc ứng dụng ngân hàng",
    scan_link: "Đang dùng máy tính? Quét bằng điện thoại để mở {name}",
    expires_in: "Mã hết hạn sau",
    qr_expired: "Mã này đã hết hạn.",
    open_app: "Mở {name}",
    continue_to: "Tiếp tục đến {name}",
    push: "Mở ứng dụng {name} trên điện thoại và xác nhận thanh toán.",
    waiting: "Đang chờ bạn thanh toán…",
    confirming: "Chúng tôi đang xác nhận thanh toán với {name}. Vui lòng chờ: bạn sẽ không bị trừ tiền hai lần.",
    review: "Cửa hàng đang kiểm tra khoản thanh toán này. Vui lòng chờ.",
    failed: "Thanh toán không thành công",
    try_again: "Thử lại với {name}",
    other_wallets: "Thanh toán bằng ví khác",
    pay_by_card: "Thanh toán bằng thẻ",
    back_to_shop: "Quay lại cửa hàng",
    paid: "Đã nhận thanh toán. Đang đưa bạn về cửa hàng…",
    continue_label: "Tiếp tục",
    expired: "Phiên thanh toán đã hết hạn. Vui lòng quay lại cửa hàng để đặt lại.",
    none_payable: "Không có ví nào nhận được đơn hàng này. Vui lòng quay lại cửa hàng.",
    refused: "Ví đó không nhận được đơn hàng này. Vui lòng chọn ví khác.",
    not_found: "Trang thanh toán này không tồn tại.",
    too_many: "Đơn hàng này đã thử thanh toán quá nhiều lần. Vui lòng quay lại cửa hàng.",
    refresh: "Kiểm tra lại",
    unavailable: "Hiện chưa thể hiển thị khoản thanh toán này. Vui lòng tải lại trang sau ít phút.",
    incentive_gone: "Ưu đãi đó vừa hết, nên giá trở lại đầy đủ. Vui lòng chọn lại.",
};

const PT_BR: Text = Text {
    lang_tag: "pt-BR",
    title: "Pagamento",
    pay_to: "Pagar {shop}",
    total: "Total",
    choose: "Escolha sua carteira",
    tagline: "Pague com a carteira que você já usa",
    pay_with: "Pagar com {name}",
    incentive: "{amount} de desconto no seu primeiro pagamento com {name}",
    incentive_applied: "Desconto de {amount} aplicado: você paga {total}",
    scan: "Leia este código com {name} ou com o app do seu banco",
    scan_link: "No computador? Leia com o celular para abrir {name}",
    expires_in: "O código expira em",
    qr_expired: "Este código expirou.",
    open_app: "Abrir {name}",
    continue_to: "Continuar para {name}",
    push: "Abra o app {name} no celular e aprove o pagamento.",
    waiting: "Aguardando seu pagamento…",
    confirming:
        "Estamos confirmando seu pagamento com {name}. Aguarde: você não será cobrado duas vezes.",
    review: "A loja está verificando este pagamento. Aguarde.",
    failed: "O pagamento não foi concluído",
    try_again: "Tentar de novo com {name}",
    other_wallets: "Pagar com outra carteira",
    pay_by_card: "Pagar com cartão",
    back_to_shop: "Voltar à loja",
    paid: "Pagamento recebido. Voltando para a loja…",
    continue_label: "Continuar",
    expired: "Este pagamento expirou. Volte à loja para fazer o pedido de novo.",
    none_payable: "Nenhuma carteira aceita este pedido. Volte à loja.",
    refused: "Essa carteira não aceita este pedido. Escolha outra.",
    not_found: "Esta página de pagamento não existe.",
    too_many: "Este pedido teve tentativas de pagamento demais. Volte à loja.",
    refresh: "Verificar de novo",
    unavailable: "Não conseguimos mostrar este pagamento agora. Recarregue a página em instantes.",
    incentive_gone:
        "Essa oferta acabou de se esgotar, e o preço voltou ao valor cheio. Escolha de novo.",
};

const ZH: Text = Text {
    lang_tag: "zh",
    title: "付款",
    pay_to: "向 {shop} 付款",
    total: "合计",
    choose: "选择您的钱包",
    tagline: "用您常用的钱包付款",
    pay_with: "使用 {name} 付款",
    incentive: "首次使用 {name} 付款立减 {amount}",
    incentive_applied: "已减 {amount}：实付 {total}",
    scan: "请用 {name} 或银行应用扫描此码",
    scan_link: "在电脑上？用手机扫码打开 {name}",
    expires_in: "二维码有效期剩余",
    qr_expired: "此二维码已过期。",
    open_app: "打开 {name}",
    continue_to: "前往 {name}",
    push: "请在手机上打开 {name} 应用并确认付款。",
    waiting: "正在等待您付款…",
    confirming: "我们正在与 {name} 确认您的付款。请稍候：您不会被重复扣款。",
    review: "商家正在核实此笔付款。请稍候。",
    failed: "付款未成功",
    try_again: "用 {name} 重试",
    other_wallets: "改用其他钱包",
    pay_by_card: "用银行卡付款",
    back_to_shop: "返回商店",
    paid: "已收到付款。正在返回商店…",
    continue_label: "继续",
    expired: "此次付款已过期。请返回商店重新下单。",
    none_payable: "没有可用于此订单的钱包。请返回商店。",
    refused: "该钱包无法用于此订单。请另选一个。",
    not_found: "此付款页面不存在。",
    too_many: "此订单的付款尝试次数过多。请返回商店。",
    refresh: "重新检查",
    unavailable: "暂时无法显示此笔付款。请稍后刷新页面。",
    incentive_gone: "该优惠刚刚用完，价格已恢复原价。请重新选择。",
};

pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::Id => &ID,
        Lang::Th => &TH,
        Lang::Ms => &MS,
        Lang::Vi => &VI,
        Lang::PtBr => &PT_BR,
        Lang::Zh => &ZH,
    }
}

/// `template` with each `{key}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// An amount as shoppers of its currency write it: `Rp 150.000`, `฿1,500.00`,
/// `RM 15.50`, `₱250.00`, `150.000 ₫`, `R$ 15,90`, `S$ 12.00`. Whole-unit currencies in
/// practice (IDR, VND) show no fraction unless there is one.
pub fn amount(m: Money) -> String {
    let exp = m.currency.exponent();
    let scale = 10_i64.pow(exp);
    let (major, frac) = (m.minor / scale, m.minor % scale);
    let (group, point) = match m.currency {
        Currency::IDR | Currency::VND | Currency::BRL => ('.', ','),
        _ => (',', '.'),
    };
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let hide_zero_fraction = matches!(m.currency, Currency::IDR | Currency::VND);
    if exp > 0 && !(hide_zero_fraction && frac == 0) {
        grouped.push(point);
        grouped.push_str(&format!("{frac:0width$}", width = exp as usize));
    }
    match m.currency {
        Currency::IDR => format!("Rp {grouped}"),
        Currency::THB => format!("฿{grouped}"),
        Currency::MYR => format!("RM {grouped}"),
        Currency::PHP => format!("₱{grouped}"),
        Currency::VND => format!("{grouped} ₫"),
        Currency::BRL => format!("R$ {grouped}"),
        Currency::SGD => format!("S$ {grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64, c: Currency) -> Money {
        Money::positive(minor, c).unwrap()
    }

    #[test]
    fn amounts_as_each_market_writes_them() {
        assert_eq!(amount(m(15_000_000, Currency::IDR)), "Rp 150.000");
        assert_eq!(amount(m(15_000_050, Currency::IDR)), "Rp 150.000,50");
        assert_eq!(amount(m(150_000, Currency::THB)), "฿1,500.00");
        assert_eq!(amount(m(1_550, Currency::MYR)), "RM 15.50");
        assert_eq!(amount(m(25_000, Currency::PHP)), "₱250.00");
        assert_eq!(amount(m(150_000, Currency::VND)), "150.000 ₫");
        assert_eq!(amount(m(1_590, Currency::BRL)), "R$ 15,90");
        assert_eq!(amount(m(123_456_789, Currency::BRL)), "R$ 1.234.567,89");
        assert_eq!(amount(m(1_200, Currency::SGD)), "S$ 12.00");
    }

    #[test]
    fn every_language_fills_its_placeholders() {
        for lang in Lang::ALL {
            let t = text(*lang);
            assert_eq!(t.lang_tag, lang.as_str());
            let line = fill(t.incentive, &[("amount", "Rp 5.000"), ("name", "DANA")]);
            assert!(line.contains("Rp 5.000") && line.contains("DANA"), "{line}");
            for s in [
                t.pay_with,
                t.try_again,
                t.open_app,
                t.continue_to,
                t.push,
                t.scan,
            ] {
                assert!(s.contains("{name}"), "{lang:?}: {s}");
            }
        }
    }
}
