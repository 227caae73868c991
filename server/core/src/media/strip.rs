//! Removing metadata from an upload without touching its image data, and reading its pixel
//! size from the header on the way (before any decoder sees it).
//!
//! Each format is walked segment by segment (JPEG), chunk by chunk (PNG, WebP) or block by
//! block (GIF), and only what is needed to show the image is kept: an allowlist, so metadata
//! nobody here has heard of (camera makers' private chunks, C2PA, …) goes too. The kept parts
//! are copied byte for byte: no re-encoding, no quality loss, PNG CRCs intact. Anything after
//! the end of the image (JPEG EOI, PNG IEND, GIF trailer, the RIFF size) is dropped, so a
//! script appended to a picture (a "polyglot") is not stored either.

use image::metadata::Orientation;

use super::{MediaError, process::MediaType};

/// An upload without its metadata.
pub(crate) struct Stripped {
    pub bytes: Vec<u8>,
    /// As stored in the header (before the orientation is applied).
    pub width: u32,
    pub height: u32,
    /// From the removed EXIF block; applied to the derivatives.
    pub orientation: Orientation,
    /// JPEG: where in `bytes` an EXIF segment belongs (after SOI and a JFIF APP0).
    pub jpeg_exif_at: usize,
    /// Frames of an animation (1 for a still image).
    pub frames: usize,
}

pub(crate) fn strip(media_type: MediaType, bytes: &[u8]) -> Result<Stripped, MediaError> {
    match media_type {
        MediaType::Jpeg => jpeg(bytes),
        MediaType::Png => png(bytes),
        MediaType::WebP => webp(bytes),
        MediaType::Gif => gif(bytes),
    }
}

fn broken(what: &str) -> MediaError {
    MediaError::Undecodable(what.to_owned())
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The orientation in an EXIF block (TIFF data, with or without the `Exif\0\0` prefix that
/// JPEG uses and some WebP and PNG writers copy).
fn exif_orientation(exif: &[u8]) -> Option<Orientation> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    Orientation::from_exif_chunk(tiff)
}

// --- JPEG ------------------------------------------------------------------------------------

/// Keeps SOI, a JFIF APP0, the ICC profile (APP2 `ICC_PROFILE`), Adobe's APP14 (it says how
/// CMYK/YCCK data is to be decoded), and every non-APP segment the image needs (tables, frame,
/// scans with their entropy-coded data, restart markers) up to EOI. Drops APP1 (EXIF with GPS,
/// XMP), APP3–APP13 and APP15 (IPTC, Photoshop, camera makers), JFXX thumbnails, MPF
/// (pointers to further images appended after EOI) and comments.
fn jpeg(bytes: &[u8]) -> Result<Stripped, MediaError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut exif_at = 2;
    let mut size = None;
    let mut orientation = None;
    let mut i = 2;
    let mut seen_scan = false;
    loop {
        if i >= bytes.len() {
            // A file cut short inside the scan data: decoders show what is there, and so do we.
            if seen_scan {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            return Err(broken("JPEG ends before its image data"));
        }
        if bytes[i] != 0xFF {
            return Err(broken("JPEG segment expected"));
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i + 1) else {
            return Err(broken("JPEG ends inside a marker"));
        };
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            0xD8 => return Err(broken("second JPEG start marker")),
            0x00 => return Err(broken("JPEG marker expected")),
            // Restart markers and TEM stand alone, without a length.
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&bytes[i..i + 2]);
                i += 2;
                continue;
            }
            _ => {}
        }
        let length = usize::from(be16(bytes, i + 2).ok_or_else(|| broken("JPEG segment cut"))?);
        if length < 2 || i + 2 + length > bytes.len() {
            return Err(broken("JPEG segment length out of bounds"));
        }
        let segment = &bytes[i..i + 2 + length];
        let payload = &segment[4..];
        let keep = match marker {
            0xE0 => payload.starts_with(b"JFIF\0"),
            0xE1 => {
                if orientation.is_none() && payload.starts_with(b"Exif\0\0") {
                    orientation = exif_orientation(payload);
                }
                false
            }
            0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
            0xEE => payload.starts_with(b"Adobe"),
            0xE3..=0xED | 0xEF | 0xFE => false,
            // Start of frame (all kinds except DHT, JPG and DAC, which share the range).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if size.is_none() {
                    let height = be16(payload, 1).ok_or_else(|| broken("JPEG frame header cut"))?;
                    let width = be16(payload, 3).ok_or_else(|| broken("JPEG frame header cut"))?;
                    super::process::check_pixels(u32::from(width), u32::from(height))?;
                    size = Some((u32::from(width), u32::from(height)));
                }
                true
            }
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
            if marker == 0xE0 && exif_at == 2 {
                exif_at = out.len();
            }
        }
        i += 2 + length;
        if marker == 0xDA {
            if size.is_none() {
                return Err(broken("JPEG scan before its frame header"));
            }
            seen_scan = true;
            // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00
            // nor a restart marker.
            let start = i;
            while i < bytes.len() {
                if bytes[i] == 0xFF {
                    match bytes.get(i + 1) {
                        Some(0x00) | Some(0xD0..=0xD7) => i += 2,
                        Some(0xFF) => i += 1,
                        Some(_) => break,
                        None => i += 1,
                    }
                } else {
                    i += 1;
                }
            }
            let end = i.min(bytes.len());
            out.extend_from_slice(&bytes[start..end]);
        }
    }
    let (width, height) = size.ok_or_else(|| broken("JPEG without a frame header"))?;
    Ok(Stripped {
        bytes: out,
        width,
        height,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        jpeg_exif_at: exif_at,
        frames: 1,
    })
}

/// The JPEG with an EXIF segment that holds nothing but the orientation, when it is not the
/// identity: no camera, no time, no GPS, just enough for viewers to turn the photo upright.
pub(crate) fn with_jpeg_orientation(
    mut bytes: Vec<u8>,
    at: usize,
    orientation: Orientation,
) -> Vec<u8> {
    if orientation == Orientation::NoTransforms {
        return bytes;
    }
    let mut segment = Vec::with_capacity(36);
    segment.extend_from_slice(&[0xFF, 0xE1, 0x00, 34]);
    segment.extend_from_slice(b"Exif\0\0");
    // Big-endian TIFF header, IFD0 at offset 8 with one entry: Orientation (0x0112), SHORT, 1.
    segment.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
    segment.extend_from_slice(&[0x00, 0x01]);
    segment.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    segment.extend_from_slice(&[0x00, orientation.to_exif(), 0x00, 0x00]);
    segment.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    debug_assert_eq!(segment.len(), 36);
    bytes.splice(at..at, segment);
    bytes
}

// --- PNG -------------------------------------------------------------------------------------

/// Chunks a PNG keeps: the critical ones and those that change how it looks (transparency,
/// colour space, gamma, pixel density, animation). Text (`tEXt`, `zTXt`, `iTXt`), `eXIf`,
/// `tIME` and everything unknown are dropped.
const PNG_KEPT: [&[u8; 4]; 18] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"cICP", b"mDCV", b"cLLI", b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

fn png(bytes: &[u8]) -> Result<Stripped, MediaError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut i = 8;
    let mut size = None;
    let mut orientation = None;
    let mut frames = 1;
    loop {
        let length = be32(bytes, i).ok_or_else(|| broken("PNG ends without IEND"))?;
        if length > 0x7FFF_FFFF {
            return Err(broken("PNG chunk length out of range"));
        }
        let length = length as usize;
        let end = i + 12 + length;
        if end > bytes.len() {
            return Err(broken("PNG chunk cut"));
        }
        let kind: &[u8; 4] = bytes[i + 4..i + 8].try_into().expect("four bytes");
        let data = &bytes[i + 8..i + 8 + length];
        if size.is_none() {
            if kind != b"IHDR" || length != 13 {
                return Err(broken("PNG without a header chunk"));
            }
            let width = be32(data, 0).unwrap_or(0);
            let height = be32(data, 4).unwrap_or(0);
            super::process::check_pixels(width, height)?;
            size = Some((width, height));
        }
        match kind {
            b"eXIf" if orientation.is_none() => orientation = exif_orientation(data),
            b"acTL" => frames = be32(data, 0).unwrap_or(1).max(1) as usize,
            _ => {}
        }
        if PNG_KEPT.contains(&kind) {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            break;
        }
    }
    let (width, height) = size.expect("IHDR was read");
    Ok(Stripped {
        bytes: out,
        width,
        height,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        jpeg_exif_at: 0,
        frames,
    })
}

// --- WebP ------------------------------------------------------------------------------------

const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

/// Keeps the image chunks (`VP8 `, `VP8L`, `ALPH`), the extended header (`VP8X`, with its
/// EXIF and XMP flags cleared), animation (`ANIM`, `ANMF`) and the ICC profile (`ICCP`);
/// drops `EXIF`, `XMP ` and unknown chunks, and writes the new RIFF size.
fn webp(bytes: &[u8]) -> Result<Stripped, MediaError> {
    let riff_size = le32(bytes, 4).ok_or_else(|| broken("WebP header cut"))? as usize;
    let riff_end = 8usize
        .checked_add(riff_size)
        .filter(|end| *end <= bytes.len() && *end >= 12)
        .ok_or_else(|| broken("WebP size out of bounds"))?;
    let mut out = Vec::with_capacity(riff_end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut i = 12;
    let mut size = None;
    let mut orientation = None;
    let mut frames = 0;
    while i + 8 <= riff_end {
        let kind: &[u8; 4] = bytes[i..i + 4].try_into().expect("four bytes");
        let length = le32(bytes, i + 4).expect("in bounds") as usize;
        let data_end = i + 8 + length;
        if data_end > riff_end {
            return Err(broken("WebP chunk cut"));
        }
        let data = &bytes[i + 8..data_end];
        // Chunks are padded to an even length; the last pad byte may be missing.
        let end = (data_end + (length & 1)).min(riff_end);
        if size.is_none() {
            let (width, height) = match kind {
                b"VP8X" => (
                    le24(data, 4).ok_or_else(|| broken("VP8X cut"))? + 1,
                    le24(data, 7).ok_or_else(|| broken("VP8X cut"))? + 1,
                ),
                b"VP8 " => {
                    if data.get(3..6) != Some(&[0x9D, 0x01, 0x2A]) {
                        return Err(broken("VP8 start code missing"));
                    }
                    (
                        u32::from(le16(data, 6).unwrap_or(0) & 0x3FFF),
                        u32::from(le16(data, 8).unwrap_or(0) & 0x3FFF),
                    )
                }
                b"VP8L" => {
                    if data.first() != Some(&0x2F) {
                        return Err(broken("VP8L signature missing"));
                    }
                    let bits = le32(data, 1).ok_or_else(|| broken("VP8L cut"))?;
                    ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
                }
                _ => return Err(broken("WebP without an image header")),
            };
            super::process::check_pixels(width, height)?;
            size = Some((width, height));
        }
        match kind {
            b"EXIF" if orientation.is_none() => orientation = exif_orientation(data),
            b"ANMF" => frames += 1,
            _ => {}
        }
        if matches!(
            kind,
            b"VP8X" | b"VP8 " | b"VP8L" | b"ALPH" | b"ANIM" | b"ANMF" | b"ICCP"
        ) {
            let start = out.len();
            out.extend_from_slice(&bytes[i..end]);
            if kind == b"VP8X" {
                out[start + 8] &= !(VP8X_EXIF | VP8X_XMP);
            }
            if (end - i) % 2 == 1 {
                out.push(0);
            }
        }
        i = end;
    }
    let (width, height) = size.ok_or_else(|| broken("WebP without an image"))?;
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| broken("WebP too large"))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(Stripped {
        bytes: out,
        width,
        height,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        jpeg_exif_at: 0,
        frames: frames.max(1),
    })
}

// --- GIF -------------------------------------------------------------------------------------

/// Keeps the header, colour tables, frames, graphic control and plain-text extensions and the
/// NETSCAPE2.0 application extension (how often an animation loops); drops comments and every
/// other application extension (XMP lives in one).
fn gif(bytes: &[u8]) -> Result<Stripped, MediaError> {
    let screen_width = u32::from(le16(bytes, 6).ok_or_else(|| broken("GIF header cut"))?);
    let screen_height = u32::from(le16(bytes, 8).ok_or_else(|| broken("GIF header cut"))?);
    super::process::check_pixels(screen_width, screen_height)?;
    let packed = *bytes.get(10).ok_or_else(|| broken("GIF header cut"))?;
    let mut i = 13;
    if packed & 0x80 != 0 {
        i += 3 << ((packed & 0x07) + 1);
    }
    if i > bytes.len() {
        return Err(broken("GIF colour table cut"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..i]);
    let mut frames = 0;
    loop {
        let Some(&introducer) = bytes.get(i) else {
            if frames > 0 {
                out.push(0x3B);
                break;
            }
            return Err(broken("GIF without an image"));
        };
        match introducer {
            0x3B => {
                out.push(0x3B);
                break;
            }
            0x2C => {
                let width = u32::from(le16(bytes, i + 5).ok_or_else(|| broken("GIF frame cut"))?);
                let height = u32::from(le16(bytes, i + 7).ok_or_else(|| broken("GIF frame cut"))?);
                super::process::check_pixels(width, height)?;
                let packed = *bytes.get(i + 9).ok_or_else(|| broken("GIF frame cut"))?;
                let mut end = i + 10;
                if packed & 0x80 != 0 {
                    end += 3 << ((packed & 0x07) + 1);
                }
                // The LZW minimum code size, then the data sub-blocks.
                end = sub_blocks_end(bytes, end + 1)?;
                out.extend_from_slice(&bytes[i..end]);
                frames += 1;
                i = end;
            }
            0x21 => {
                let label = *bytes
                    .get(i + 1)
                    .ok_or_else(|| broken("GIF extension cut"))?;
                let end = sub_blocks_end(bytes, i + 2)?;
                let keep = match label {
                    0xF9 | 0x01 => true,
                    0xFF => bytes.get(i + 2..i + 14) == Some(b"\x0bNETSCAPE2.0"),
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(&bytes[i..end]);
                }
                i = end;
            }
            _ => return Err(broken("unknown GIF block")),
        }
    }
    Ok(Stripped {
        bytes: out,
        width: screen_width,
        height: screen_height,
        orientation: Orientation::NoTransforms,
        jpeg_exif_at: 0,
        frames,
    })
}

/// The end of a chain of GIF sub-blocks starting at `at` (after its zero terminator).
fn sub_blocks_end(bytes: &[u8], mut at: usize) -> Result<usize, MediaError> {
    loop {
        let size = usize::from(*bytes.get(at).ok_or_else(|| broken("GIF block cut"))?);
        at += 1 + size;
        if size == 0 {
            return Ok(at);
        }
        if at > bytes.len() {
            return Err(broken("GIF block cut"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_header_claiming_fifty_thousand_pixels_a_side_is_refused_unread() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            strip(MediaType::Png, &png),
            Err(MediaError::TooManyPixels {
                width: 50_000,
                height: 50_000
            })
        ));
    }

    #[test]
    fn the_orientation_segment_is_well_formed() {
        let jpeg = with_jpeg_orientation(vec![0xFF, 0xD8, 0xFF, 0xD9], 2, Orientation::Rotate90);
        assert_eq!(&jpeg[..4], &[0xFF, 0xD8, 0xFF, 0xE1]);
        assert_eq!(
            exif_orientation(&jpeg[6..38]),
            Some(Orientation::Rotate90),
            "readable back"
        );
        assert_eq!(&jpeg[38..], &[0xFF, 0xD9]);
    }
}
