//! QR codes as inline SVG: one `<path>` of the dark modules inside a quiet zone of four,
//! drawn from the `qrcode` crate's module matrix (no image rendering compiled in). Error
//! correction M, as EMV merchant-presented codes are printed.

use qrcode::{Color, EcLevel, QrCode};

/// The SVG of `data` as a QR code, or `None` if it is too long for one.
pub fn svg(data: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut d = String::with_capacity(width * width * 4);
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if colors[y * width + x] == Color::Dark {
                // A run of dark modules on this row as one rectangle.
                let start = x;
                while x < width && colors[y * width + x] == Color::Dark {
                    x += 1;
                }
                d.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + quiet,
                    y + quiet,
                    x - start,
                    x - start
                ));
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        r##"<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="{label}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{d}"/></svg>"##,
        label = escape(label),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drawn path covers exactly the code's dark modules: decoding the path back into a
    /// matrix gives the matrix the crate computed.
    #[test]
    fn the_path_is_the_matrix() {
        let data = "00020101021226570011ID.DANA.WWW011893600915000000000102150000000000000010303UMI51440014ID.CO.QRIS.WWW0215ID10200000000000303UMI5204599953033605406150000.005802ID5907WARUNG 6007JAKARTA6304ABCD";
        let out = svg(data, "QR").unwrap();
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).unwrap();
        let w = code.width();
        let mut drawn = vec![false; w * w];
        let d = out
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for rect in d.split('z').filter(|r| !r.is_empty()) {
            let rect = rect.strip_prefix('M').unwrap();
            let (xy, rest) = rect.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let run: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for i in 0..run {
                drawn[(y - 4) * w + (x - 4 + i)] = true;
            }
        }
        let expected: Vec<bool> = code.to_colors().iter().map(|c| *c == Color::Dark).collect();
        assert_eq!(drawn, expected);
        assert!(out.contains(&format!("viewBox=\"0 0 {} {}\"", w + 8, w + 8)));
    }

    #[test]
    fn labels_are_escaped_and_overlong_data_refused() {
        assert!(svg("x", "a\"<b>")
            .unwrap()
            .contains("aria-label=\"a&quot;&lt;b&gt;\""));
        assert!(svg(&"9".repeat(8000), "QR").is_none());
    }
}
