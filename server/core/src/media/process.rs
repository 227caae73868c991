//! Turning an upload into what is stored: the type told by the bytes themselves, the limits
//! checked from the header before anything is decoded, metadata removed from the original
//! without re-encoding it, and three resized derivatives.
//!
//! Everything here is synchronous and CPU-bound; [`process_async`] runs it on a blocking
//! thread, at most one per core at a time.

use std::{io::Cursor, sync::OnceLock};

use image::{
    DynamicImage, ImageDecoder as _, ImageEncoder as _, ImageFormat, ImageReader, Limits,
    codecs::{jpeg::JpegEncoder, png::PngEncoder},
    imageops::FilterType,
};
use sha2::{Digest as _, Sha256};

use super::{MediaError, strip};

/// The largest upload accepted, checked before anything else.
pub const MAX_UPLOAD_BYTES: usize = 15 * 1024 * 1024;
/// The largest width or height accepted (read from the header, before decoding).
pub const MAX_SIDE: u32 = 16_384;
/// The most pixels accepted (40 megapixels): a 12 MP phone photo passes, a decompression bomb
/// that declares 50,000 × 50,000 pixels in a few bytes does not.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Ceiling for the decoder's own allocations: 40 MP at 16 bits per channel with alpha (the
/// largest decoded form) plus headroom.
const MAX_DECODER_ALLOC: u64 = 384 * 1024 * 1024;
/// Quality of the JPEG derivatives.
const JPEG_QUALITY: u8 = 85;

/// The image types accepted, always told from the content, never from a file name or a
/// declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl MediaType {
    pub const ALL: [MediaType; 4] = [Self::Jpeg, Self::Png, Self::WebP, Self::Gif];

    /// The type of `bytes` by its magic numbers; `None` for anything else (SVG, PDF, scripts,
    /// HEIC, TIFF, …).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// The file extension of stored objects (and of their keys).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
        }
    }

    pub fn from_extension(extension: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.extension() == extension)
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::WebP => ImageFormat::WebP,
            Self::Gif => ImageFormat::Gif,
        }
    }
}

/// The derivative sizes, by their longest side. Smaller images are never enlarged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    Thumbnail,
    Medium,
    Large,
}

impl Size {
    pub const ALL: [Size; 3] = [Self::Thumbnail, Self::Medium, Self::Large];

    pub fn longest_side(self) -> u32 {
        match self {
            Self::Thumbnail => 200,
            Self::Medium => 800,
            Self::Large => 1600,
        }
    }
}

/// One object to store: its bytes, type, pixel size and content hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub media_type: MediaType,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lower-case hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl Encoded {
    fn new(media_type: MediaType, bytes: Vec<u8>, width: u32, height: u32) -> Self {
        Self {
            sha256: sha256_hex(&bytes),
            media_type,
            bytes,
            width,
            height,
        }
    }

    /// The storage key, `<sha256>.<ext>`: equal bytes get the same key.
    pub fn key(&self) -> String {
        format!("{}.{}", self.sha256, self.media_type.extension())
    }
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// An upload ready to store: the original without metadata, and the derivatives.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The upload's own bytes with metadata removed (no re-encoding); `width`/`height` are as
    /// displayed, after the EXIF orientation.
    pub original: Encoded,
    pub thumbnail: Encoded,
    pub medium: Encoded,
    pub large: Encoded,
    /// An animated GIF (its derivatives show the first frame).
    pub animated: bool,
}

impl Processed {
    pub fn derivative(&self, size: Size) -> &Encoded {
        match size {
            Size::Thumbnail => &self.thumbnail,
            Size::Medium => &self.medium,
            Size::Large => &self.large,
        }
    }

    /// The distinct objects to store (equal derivatives of a small image are one object).
    pub fn objects(&self) -> Vec<&Encoded> {
        let mut objects: Vec<&Encoded> = Vec::with_capacity(4);
        for object in [&self.original, &self.thumbnail, &self.medium, &self.large] {
            if !objects.iter().any(|o| o.key() == object.key()) {
                objects.push(object);
            }
        }
        objects
    }

    /// What the upload costs in storage: the distinct objects' sizes.
    pub fn byte_size(&self) -> u64 {
        self.objects().iter().map(|o| o.bytes.len() as u64).sum()
    }
}

/// Checks, cleans and resizes an upload. Synchronous and CPU-heavy (a 12 MP photo takes a
/// noticeable fraction of a second): async code calls [`process_async`].
///
/// In order, each step refusing before the next costs anything: the size
/// ([`MAX_UPLOAD_BYTES`]), the type by magic bytes ([`MediaType::sniff`]), the pixel size from
/// the header ([`MAX_SIDE`], [`MAX_PIXELS`]) while the metadata is removed, then decoding the
/// cleaned bytes under [`image::Limits`] (so what is stored is known to decode), then the
/// derivatives.
pub fn process(bytes: &[u8]) -> Result<Processed, MediaError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(MediaError::TooLarge {
            max: MAX_UPLOAD_BYTES,
        });
    }
    let media_type = MediaType::sniff(bytes).ok_or(MediaError::UnsupportedType)?;
    let stripped = strip::strip(media_type, bytes)?;

    let mut reader =
        ImageReader::with_format(Cursor::new(&stripped.bytes), media_type.image_format());
    reader.limits(decoder_limits());
    let decode_error = |err: image::ImageError| match err {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            width: stripped.width,
            height: stripped.height,
        },
        other => MediaError::Undecodable(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if (width, height) != (stripped.width, stripped.height) {
        // The decoder read another size than the header walk: something is inconsistent.
        return Err(MediaError::Undecodable(
            "header and decoder disagree on the size".into(),
        ));
    }
    check_pixels(width, height)?;
    let icc_profile = decoder.icc_profile().ok().flatten();
    let mut budget = decoder_limits();
    budget
        .reserve(decoder.total_bytes())
        .map_err(decode_error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(stripped.orientation);

    let base = if has_transparency(&image) {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    };

    // Each size is made from the next larger one: resizing a 1600 px image to 800 is much
    // cheaper than resizing the 12 MP original again, and looks the same.
    let large_image = fit(&base, Size::Large.longest_side());
    let medium_image = fit(&large_image, Size::Medium.longest_side());
    let thumbnail_image = fit(&medium_image, Size::Thumbnail.longest_side());
    let large = encode(&large_image, icc_profile.as_deref())?;
    let medium = encode(&medium_image, icc_profile.as_deref())?;
    let thumbnail = encode(&thumbnail_image, icc_profile.as_deref())?;

    let original_bytes = if media_type == MediaType::Jpeg {
        // The original keeps its pixels as they were encoded; without the EXIF block a viewer
        // would show a rotated phone photo sideways, so the orientation alone is written back.
        strip::with_jpeg_orientation(stripped.bytes, stripped.jpeg_exif_at, stripped.orientation)
    } else {
        stripped.bytes
    };
    let (display_width, display_height) = (base.width(), base.height());
    Ok(Processed {
        original: Encoded::new(media_type, original_bytes, display_width, display_height),
        thumbnail,
        medium,
        large,
        animated: stripped.frames > 1,
    })
}

/// [`process`] on a blocking thread, at most one per core at a time: each run holds a decoded
/// image (up to a few hundred MiB for the largest accepted one), so a burst of uploads queues
/// here instead of exhausting memory.
pub async fn process_async(bytes: Vec<u8>) -> Result<Processed, MediaError> {
    // Cheap refusals first, without waiting for a permit.
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(MediaError::TooLarge {
            max: MAX_UPLOAD_BYTES,
        });
    }
    if MediaType::sniff(&bytes).is_none() {
        return Err(MediaError::UnsupportedType);
    }
    let _permit = processing_permit().await;
    tokio::task::spawn_blocking(move || process(&bytes))
        .await
        .map_err(|e| MediaError::Undecodable(format!("image processing stopped: {e}")))?
}

async fn processing_permit() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            tokio::sync::Semaphore::new(cores.max(1))
        })
        .acquire()
        .await
        .ok()
}

/// Refuses an image whose declared size is beyond the limits (or empty).
pub(crate) fn check_pixels(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Undecodable("the image has no pixels".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooManyPixels { width, height });
    }
    Ok(())
}

fn decoder_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    limits
}

/// Whether any pixel is not fully opaque (an alpha channel that is all opaque does not count:
/// such an image becomes a JPEG like any photo).
fn has_transparency(image: &DynamicImage) -> bool {
    if !image.color().has_alpha() {
        return false;
    }
    match image {
        DynamicImage::ImageRgba8(buffer) => buffer.pixels().any(|p| p.0[3] < u8::MAX),
        DynamicImage::ImageLumaA8(buffer) => buffer.pixels().any(|p| p.0[1] < u8::MAX),
        other => other.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX),
    }
}

/// The image scaled down to fit `longest` × `longest`, or itself when it fits already.
///
/// Shrinking by half or more averages the source pixels under each target pixel (a box
/// filter: no aliasing at such ratios, and several times faster than a convolution on a 12 MP
/// photo); smaller steps use a triangle filter, where the box filter would alias.
fn fit(image: &DynamicImage, longest: u32) -> DynamicImage {
    let current = image.width().max(image.height());
    if current <= longest {
        image.clone()
    } else if current >= 2 * longest {
        image.thumbnail(longest, longest)
    } else {
        image.resize(longest, longest, FilterType::Triangle)
    }
}

/// JPEG for opaque images, PNG when there is transparency; the ICC profile travels along so
/// colours stay as in the original.
fn encode(image: &DynamicImage, icc_profile: Option<&[u8]>) -> Result<Encoded, MediaError> {
    let mut bytes = Vec::new();
    let (width, height) = (image.width(), image.height());
    let media_type = match image {
        DynamicImage::ImageRgba8(buffer) => {
            let mut encoder = PngEncoder::new(&mut bytes);
            if let Some(icc) = icc_profile {
                encoder.set_icc_profile(icc.to_vec()).ok();
            }
            encoder
                .write_image(
                    buffer.as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(|e| MediaError::Undecodable(format!("PNG encoding: {e}")))?;
            MediaType::Png
        }
        other => {
            let rgb;
            let buffer = match other {
                DynamicImage::ImageRgb8(buffer) => buffer,
                _ => {
                    rgb = other.to_rgb8();
                    &rgb
                }
            };
            let mut encoder = JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
            if let Some(icc) = icc_profile {
                encoder.set_icc_profile(icc.to_vec()).ok();
            }
            encoder
                .write_image(
                    buffer.as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| MediaError::Undecodable(format!("JPEG encoding: {e}")))?;
            MediaType::Jpeg
        }
    };
    Ok(Encoded::new(media_type, bytes, width, height))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
