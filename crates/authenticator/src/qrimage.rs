//! Reading the activation QR code from a PNG image, as a phone camera would.

use crate::Error;

/// The text of the first QR code in the PNG at `bytes`.
pub fn decode_png(bytes: &[u8]) -> Result<String, Error> {
    let bad = |what: &str| Error::Local(format!("cannot read the QR image: {what}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| bad(&e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(&e.to_string()))?;
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| -> u8 {
        let i = (y * w + x) * channels;
        match channels {
            1 | 2 => buf[i],
            _ => ((u16::from(buf[i]) + u16::from(buf[i + 1]) + u16::from(buf[i + 2])) / 3) as u8,
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    let grid = grids.first().ok_or_else(|| bad("no QR code found"))?;
    grid.decode().map(|(_, text)| text).map_err(|e| bad(&format!("{e:?}")))
}
