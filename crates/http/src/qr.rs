//! QR code images of activation payloads: SVG text and PNG bytes, made here with no
//! external image library.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per QR module in the PNG, and modules of quiet zone around it.
const SCALE: usize = 8;
const QUIET: usize = 4;

fn code(payload: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| format!("QR encoding: {e}"))
}

/// The QR code as an SVG document.
pub fn svg(payload: &str) -> Result<String, String> {
    Ok(code(payload)?.render::<svg::Color<'_>>().min_dimensions(256, 256).build())
}

/// The QR code as a grayscale PNG.
pub fn png(payload: &str) -> Result<Vec<u8>, String> {
    let code = code(payload)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| format!("PNG: {e}"))?;
        w.write_image_data(&pixels).map_err(|e| format!("PNG: {e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_well_formed() {
        let p = "countersign://activate?v=1&server=http%3A%2F%2F127.0.0.1%3A8080&id=x&code=ABCDEFGHJKLM";
        let png = png(p).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().width % SCALE as u32, 0);
        assert!(svg(p).unwrap().starts_with("<?xml"));
    }
}
