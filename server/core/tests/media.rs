//! Product images: what uploads are accepted (by content, within size and pixel limits), that
//! no metadata survives, the derivatives, and — on both engines — attaching, ordering,
//! quotas, organization scoping, the outbox and deleting stored objects nobody uses.
//!
//! Every test image is made here in code; the 12 MP timing is printed with `--nocapture`.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use chrono::Utc;
use image::{
    AnimationDecoder as _, DynamicImage, ExtendedColorType, Frame, ImageDecoder as _,
    ImageEncoder as _, ImageFormat, ImageReader, Rgb, RgbImage, Rgba, RgbaImage,
    codecs::{
        gif::{GifDecoder, GifEncoder, Repeat},
        jpeg::JpegEncoder,
        png::PngEncoder,
        webp::WebPEncoder,
    },
    metadata::Orientation,
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use shopmarkets_core::{
    access::{AccessError, Scope},
    audit,
    catalog::{self, Condition, Dimensions, NewProduct, NewVariant, ProductContent},
    db::Db,
    db_tests,
    entity::{media_object, membership, membership::Role, product_image, sync_outbox},
    media::{self, MAX_UPLOAD_BYTES, MediaError, MediaStore, MediaType, Size},
    testing::{inserted_user, owner_of_new_organization},
};
use shopmarkets_types::{Currency, Locale, Money, Sku};
use uuid::Uuid;

// --- Test images ------------------------------------------------------------------------------

fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    jpeg_of(&gradient(width, height))
}

fn png_of(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

/// A PNG; with `transparent`, its left half is see-through.
fn png(width: u32, height: u32, transparent: bool) -> Vec<u8> {
    png_of(&RgbaImage::from_fn(width, height, |x, y| {
        let alpha = if transparent && x < width / 2 { 0 } else { 255 };
        Rgba([(x % 256) as u8, (y % 256) as u8, 90, alpha])
    }))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    chunk
}

/// The PNG with `chunks` right after its header chunk.
fn png_with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let ihdr_end = 8 + 12 + 13;
    let mut out = png[..ihdr_end].to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// An EXIF block (big-endian TIFF) as cameras write it: maker, optionally orientation, and a
/// GPS position (52°31'12.34" N, 13°24'56.78" E).
fn exif(orientation: Option<u16>) -> Vec<u8> {
    let make = b"CanaryCam Model\0";
    let ifd0_entries: u16 = if orientation.is_some() { 3 } else { 2 };
    let ifd0_len = 2 + 12 * u32::from(ifd0_entries) + 4;
    let make_at = 8 + ifd0_len;
    let gps_at = make_at + make.len() as u32;
    let gps_len = 2 + 12 * 4 + 4;
    let latitude_at = gps_at + gps_len;
    let longitude_at = latitude_at + 24;

    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&ifd0_entries.to_be_bytes());
    entry(&mut t, 0x010F, 2, make.len() as u32, make_at.to_be_bytes());
    if let Some(o) = orientation {
        let v = o.to_be_bytes();
        entry(&mut t, 0x0112, 3, 1, [v[0], v[1], 0, 0]);
    }
    entry(&mut t, 0x8825, 4, 1, gps_at.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(make);
    t.extend_from_slice(&4u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, latitude_at.to_be_bytes());
    entry(&mut t, 0x0003, 2, 2, *b"E\0\0\0");
    entry(&mut t, 0x0004, 5, 3, longitude_at.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    for (numerator, denominator) in [
        (52u32, 1u32),
        (31, 1),
        (1234, 100),
        (13, 1),
        (24, 1),
        (5678, 100),
    ] {
        t.extend_from_slice(&numerator.to_be_bytes());
        t.extend_from_slice(&denominator.to_be_bytes());
    }
    assert_eq!(t.len() as u32, longitude_at + 24);
    t
}

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut segment = vec![0xFF, marker];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(payload);
    segment
}

const XMP_CANARY: &[u8] =
    b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>XmpCanary GPSLatitude</x:xmpmeta>";

/// A camera JPEG: EXIF with GPS, XMP and a comment before the image, a script after its end.
fn camera_jpeg(image: &RgbImage, orientation: Option<u16>) -> Vec<u8> {
    let plain = jpeg_of(image);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif(orientation));
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&jpeg_segment(0xE1, &app1));
    out.extend_from_slice(&jpeg_segment(0xE1, XMP_CANARY));
    out.extend_from_slice(&jpeg_segment(0xFE, b"CommentCanary"));
    out.extend_from_slice(&plain[2..]);
    out.extend_from_slice(b"<?php echo 'TrailerCanary'; ?>");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// EXIF as an image decoder finds it.
fn decoded_exif(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    decoder.exif_metadata().unwrap()
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).expect("decodes")
}

fn size_of(image: &DynamicImage) -> (u32, u32) {
    (image.width(), image.height())
}

const METADATA_CANARIES: [&[u8]; 6] = [
    b"Exif\0\0",
    b"CanaryCam",
    b"XmpCanary",
    b"CommentCanary",
    b"TrailerCanary",
    b"<?php",
];

fn assert_no_metadata(bytes: &[u8], what: &str) {
    for canary in METADATA_CANARIES {
        assert!(
            !contains(bytes, canary),
            "{what} still holds {:?}",
            String::from_utf8_lossy(canary)
        );
    }
    assert_eq!(decoded_exif(bytes), None, "{what} has EXIF");
}

// --- What is accepted ---------------------------------------------------------------------------

#[test]
fn the_type_comes_from_the_content_not_the_name() {
    // A PNG uploaded as "photo.jpg": the bytes say PNG, and it is stored as one.
    let processed = media::process(&png(64, 32, false)).unwrap();
    assert_eq!(processed.original.media_type, MediaType::Png);
    assert!(processed.original.key().ends_with(".png"));
    assert_eq!(processed.original.media_type.content_type(), "image/png");
    assert_eq!(MediaType::sniff(&jpeg(8, 8)), Some(MediaType::Jpeg));
}

#[test]
fn scripts_svg_and_other_types_are_refused() {
    for (what, bytes) in [
        ("PHP named .png", b"<?php system($_GET['c']); ?>".to_vec()),
        (
            "SVG",
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
        ),
        ("PDF", b"%PDF-1.7\n".to_vec()),
        ("BMP", b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0".to_vec()),
        ("empty", Vec::new()),
        // Magic bytes a PHP polyglot might fake are checked in full: "GIF8" is not enough.
        ("GIF8 prefix only", b"GIF8<?php ?>".to_vec()),
    ] {
        assert!(
            matches!(media::process(&bytes), Err(MediaError::UnsupportedType)),
            "{what}"
        );
    }
}

#[test]
fn a_png_header_claiming_fifty_thousand_pixels_a_side_is_refused_at_once() {
    let mut ihdr = 50_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    // A little compressed data that would inflate to 10 GB if anyone tried.
    bomb.extend_from_slice(&png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bomb.extend_from_slice(&png_chunk(b"IEND", &[]));
    let started = Instant::now();
    let result = media::process(&bomb);
    assert!(
        matches!(
            result,
            Err(MediaError::TooManyPixels {
                width: 50_000,
                height: 50_000
            })
        ),
        "{result:?}"
    );
    assert!(
        started.elapsed().as_millis() < 1000,
        "{:?}",
        started.elapsed()
    );

    // Within each side's limit but beyond 40 megapixels: refused as well.
    let mut wide = 16_000u32.to_be_bytes().to_vec();
    wide.extend_from_slice(&3_000u32.to_be_bytes());
    wide.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&png_chunk(b"IHDR", &wide));
    assert!(matches!(
        media::process(&png),
        Err(MediaError::TooManyPixels { .. })
    ));
}

#[test]
fn a_twenty_megabyte_file_is_refused_before_decoding() {
    let mut big = jpeg(16, 16);
    big.resize(20 * 1000 * 1000, 0);
    let started = Instant::now();
    assert!(matches!(
        media::process(&big),
        Err(MediaError::TooLarge { max }) if max == MAX_UPLOAD_BYTES
    ));
    assert!(started.elapsed().as_millis() < 1000);
}

#[test]
fn broken_images_are_refused() {
    let mut cut = jpeg(64, 64);
    cut.truncate(20);
    assert!(matches!(
        media::process(&cut),
        Err(MediaError::Undecodable(_))
    ));
    let mut png = png(16, 16, false);
    png.truncate(40);
    assert!(matches!(
        media::process(&png),
        Err(MediaError::Undecodable(_))
    ));
}

// --- Metadata ------------------------------------------------------------------------------------

#[test]
fn exif_gps_xmp_comments_and_trailers_are_removed_from_jpegs() {
    let upload = camera_jpeg(&gradient(320, 240), None);
    assert!(decoded_exif(&upload).is_some(), "the test photo has EXIF");
    assert!(contains(&upload, b"CanaryCam") && contains(&upload, b"XmpCanary"));

    let processed = media::process(&upload).unwrap();
    assert_no_metadata(&processed.original.bytes, "original");
    for size in Size::ALL {
        assert_no_metadata(&processed.derivative(size).bytes, &format!("{size:?}"));
    }
    // The original is the uploaded image data itself, not a re-encoding: only the removed
    // segments and the trailer are missing.
    let plain = jpeg_of(&gradient(320, 240));
    assert_eq!(processed.original.bytes, plain);
    assert_eq!(
        (processed.original.width, processed.original.height),
        (320, 240)
    );
}

#[test]
fn a_rotated_photo_keeps_only_its_orientation() {
    // 40 × 20, left half red, right half blue, taken with the camera turned (EXIF 6: show it
    // turned 90° clockwise).
    let image = RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let processed = media::process(&camera_jpeg(&image, Some(6))).unwrap();
    assert_eq!(
        (processed.original.width, processed.original.height),
        (20, 40)
    );
    let original_exif = decoded_exif(&processed.original.bytes).expect("an orientation block");
    assert_eq!(
        Orientation::from_exif_chunk(&original_exif),
        Some(Orientation::Rotate90)
    );
    assert!(original_exif.len() < 40, "nothing but the orientation");
    for canary in &METADATA_CANARIES[1..] {
        assert!(!contains(&processed.original.bytes, canary));
    }
    // Derivatives are turned upright (the left half is now on top) and carry no EXIF at all.
    let thumbnail = decode(&processed.thumbnail.bytes).to_rgb8();
    assert_eq!(thumbnail.dimensions(), (20, 40));
    assert!(thumbnail.get_pixel(10, 5).0[0] > 200 && thumbnail.get_pixel(10, 5).0[2] < 60);
    assert!(thumbnail.get_pixel(10, 35).0[2] > 200 && thumbnail.get_pixel(10, 35).0[0] < 60);
    assert_no_metadata(&processed.thumbnail.bytes, "thumbnail");
}

#[test]
fn png_text_time_and_exif_chunks_are_removed_with_crcs_intact() {
    let upload = png_with_chunks(
        &png(48, 48, true),
        &[
            png_chunk(b"tEXt", b"Comment\0CommentCanary"),
            png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0XmpCanary"),
            png_chunk(b"tIME", &[0x07, 0xE9, 1, 2, 3, 4, 5]),
            png_chunk(b"eXIf", &exif(None)),
            png_chunk(b"gAMA", &45455u32.to_be_bytes()),
        ],
    );
    let mut with_trailer = upload.clone();
    with_trailer.extend_from_slice(b"<?php echo 'TrailerCanary'; ?>");
    let processed = media::process(&with_trailer).unwrap();
    let original = &processed.original.bytes;
    assert_no_metadata(original, "original");
    for kind in [b"tEXt", b"iTXt", b"tIME", b"eXIf"] {
        assert!(
            !contains(original, kind),
            "{}",
            String::from_utf8_lossy(kind)
        );
    }
    assert!(contains(original, b"gAMA"), "rendering chunks stay");
    // Every kept chunk's CRC still matches (the decoder checks them).
    let mut i = 8;
    while i < original.len() {
        let length = u32::from_be_bytes(original[i..i + 4].try_into().unwrap()) as usize;
        let crc = u32::from_be_bytes(
            original[i + 8 + length..i + 12 + length]
                .try_into()
                .unwrap(),
        );
        assert_eq!(crc, crc32(&original[i + 4..i + 8 + length]));
        i += 12 + length;
    }
    assert_eq!(i, original.len());
    decode(original);
}

#[test]
fn webp_exif_and_xmp_chunks_go_and_the_header_is_fixed() {
    let image = RgbaImage::from_fn(30, 20, |x, y| Rgba([x as u8 * 8, y as u8 * 12, 50, 255]));
    let mut simple = Vec::new();
    WebPEncoder::new_lossless(&mut simple)
        .encode(image.as_raw(), 30, 20, ExtendedColorType::Rgba8)
        .unwrap();
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x10 | 0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&29u32.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&19u32.to_le_bytes()[..3]);
    let mut upload = b"RIFF\0\0\0\0WEBP".to_vec();
    upload.extend_from_slice(&chunk(b"VP8X", &vp8x));
    upload.extend_from_slice(&simple[12..]);
    upload.extend_from_slice(&chunk(b"EXIF", &exif(None)));
    upload.extend_from_slice(&chunk(b"XMP ", &XMP_CANARY[29..]));
    let riff = (upload.len() - 8) as u32;
    upload[4..8].copy_from_slice(&riff.to_le_bytes());
    assert!(decoded_exif(&upload).is_some(), "the test file has EXIF");

    let processed = media::process(&upload).unwrap();
    let original = &processed.original.bytes;
    assert_eq!(processed.original.media_type, MediaType::WebP);
    assert_no_metadata(original, "original");
    assert!(!contains(original, b"EXIF") && !contains(original, b"XMP "));
    assert_eq!(original[20] & 0x0C, 0, "EXIF and XMP flags cleared");
    assert_eq!(original[20] & 0x10, 0x10, "alpha flag kept");
    assert_eq!(
        u32::from_le_bytes(original[4..8].try_into().unwrap()) as usize,
        original.len() - 8
    );
    assert_eq!(size_of(&decode(original)), (30, 20));
}

#[test]
fn animated_gifs_keep_their_loop_and_lose_comments_and_other_extensions() {
    let mut gif = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut gif);
        encoder.set_repeat(Repeat::Infinite).unwrap();
        encoder
            .encode_frames([
                Frame::new(RgbaImage::from_pixel(40, 30, Rgba([255, 0, 0, 255]))),
                Frame::new(RgbaImage::from_pixel(40, 30, Rgba([0, 0, 255, 255]))),
            ])
            .unwrap();
    }
    assert_eq!(gif.pop(), Some(0x3B));
    gif.extend_from_slice(b"\x21\xFE\x0DCommentCanary\x00");
    gif.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x09XmpCanary\x00");
    gif.push(0x3B);
    gif.extend_from_slice(b"<?php echo 'TrailerCanary'; ?>");

    let processed = media::process(&gif).unwrap();
    assert!(processed.animated);
    let original = &processed.original.bytes;
    assert_no_metadata(original, "original");
    assert!(contains(original, b"NETSCAPE2.0"), "the loop stays");
    let frames = GifDecoder::new(std::io::Cursor::new(original))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 2, "the animation stays");
    // Derivatives are the first frame, as a JPEG.
    assert_eq!(processed.thumbnail.media_type, MediaType::Jpeg);
    let thumbnail = decode(&processed.thumbnail.bytes).to_rgb8();
    assert!(thumbnail.get_pixel(5, 5).0[0] > 200 && thumbnail.get_pixel(5, 5).0[2] < 60);
}

/// A 24 × 16 progressive JPEG (red left half, blue right half) with restart markers and
/// Huffman tables between its ten scans, as `cjpeg -progressive -restart 1` writes it: the
/// `image` crate cannot encode one.
const PROGRESSIVE_JPEG_HEX: &str = concat!(
    "ffd8ffe000104a46494600010100000100010000ffdb00430006040506050406060506070706080a100a0a09090a",
    "140e0f0c1017141818171416161a1d251f1a1b231c1616202c20232627292a29191f2d302d283025282928ffdb00",
    "43010707070a080a130a0a13281a161a282828282828282828282828282828282828282828282828282828282828",
    "2828282828282828282828282828282828282828ffc20011080010001803012200021101031101ffc40016000101",
    "0100000000000000000000000000040005ffc4001501010100000000000000000000000000000600ffdd00040002",
    "ffda000c03010002100310000001c113452a154f05ff00ffc4001610000300000000000000000000000000000004",
    "10ffdd00040003ffda0008010100010502189fffd0189fffc4001a11000007000000000000000000000000000102",
    "05103481b1ffdd00040002ffda0008010301013f0156887ad06fffc4001a11000007000000000000000000000000",
    "00010205103481b1ffda0008010201013f01469a4bc16fffc4001610000300000000000000000000000000000002",
    "10ffdd00040003ffda0008010100063f02167fffd0167fffc4001610000300000000000000000000000000000010",
    "c1ffda0008010100013f212cbfffd02cbfffdd00040002ffda000c03010002000300000010041fffc40014110100",
    "000000000000000000000000000010ffda0008010301013f1030ffc4001411010000000000000000000000000000",
    "0010ffda0008010201013f102affc400171000030100000000000000000000000000001081f0ffdd00040003ffda",
    "0008010100013f10348bffd0348bffd9",
);

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn progressive_jpegs_with_restart_markers_are_kept_intact() {
    let plain = hex(PROGRESSIVE_JPEG_HEX);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif(None));
    let mut upload = plain[..2].to_vec();
    upload.extend_from_slice(&jpeg_segment(0xE1, &app1));
    upload.extend_from_slice(&jpeg_segment(0xFE, b"CommentCanary"));
    upload.extend_from_slice(&plain[2..]);

    let processed = media::process(&upload).unwrap();
    assert_eq!(
        processed.original.bytes, plain,
        "every scan copied byte for byte"
    );
    assert_no_metadata(&processed.original.bytes, "original");
    let thumbnail = decode(&processed.thumbnail.bytes).to_rgb8();
    assert_eq!(thumbnail.dimensions(), (24, 16));
    assert!(thumbnail.get_pixel(3, 8).0[0] > 180 && thumbnail.get_pixel(20, 8).0[2] > 180);
}

// --- Derivatives ---------------------------------------------------------------------------------

#[test]
fn derivatives_have_the_expected_sizes_and_are_never_enlarged() {
    let processed = media::process(&jpeg(4000, 3000)).unwrap();
    for (size, expected) in [
        (Size::Thumbnail, (200, 150)),
        (Size::Medium, (800, 600)),
        (Size::Large, (1600, 1200)),
    ] {
        let encoded = processed.derivative(size);
        assert_eq!((encoded.width, encoded.height), expected, "{size:?}");
        assert_eq!(size_of(&decode(&encoded.bytes)), expected);
        assert_eq!(encoded.media_type, MediaType::Jpeg);
    }

    let portrait = media::process(&jpeg(900, 1800)).unwrap();
    assert_eq!((portrait.large.width, portrait.large.height), (800, 1600));
    assert_eq!((portrait.medium.width, portrait.medium.height), (400, 800));
    assert_eq!(
        (portrait.thumbnail.width, portrait.thumbnail.height),
        (100, 200)
    );

    let small = media::process(&jpeg(120, 60)).unwrap();
    for size in Size::ALL {
        let encoded = small.derivative(size);
        assert_eq!((encoded.width, encoded.height), (120, 60), "{size:?}");
    }
    // Three equal derivatives are one object.
    assert_eq!(small.objects().len(), 2);
}

#[test]
fn transparent_images_get_png_derivatives_opaque_ones_jpeg() {
    let transparent = media::process(&png(400, 300, true)).unwrap();
    for size in Size::ALL {
        let encoded = transparent.derivative(size);
        assert_eq!(encoded.media_type, MediaType::Png, "{size:?}");
        assert!(decode(&encoded.bytes).color().has_alpha());
    }
    let thumbnail = decode(&transparent.thumbnail.bytes).to_rgba8();
    assert_eq!(thumbnail.get_pixel(10, 10).0[3], 0);
    assert_eq!(thumbnail.get_pixel(190, 10).0[3], 255);

    // An alpha channel that is opaque everywhere is a photo like any other.
    let opaque = media::process(&png(400, 300, false)).unwrap();
    assert_eq!(opaque.medium.media_type, MediaType::Jpeg);
    assert_eq!(
        image::guess_format(&opaque.medium.bytes).unwrap(),
        ImageFormat::Jpeg
    );
}

#[test]
fn a_twelve_megapixel_photo_passes_and_its_processing_time_is_shown() {
    let upload = jpeg(4000, 3000);
    println!("12 MP test JPEG: {} bytes", upload.len());
    let started = Instant::now();
    let processed = media::process(&upload).unwrap();
    let elapsed = started.elapsed();
    println!(
        "media::process of a 4000 × 3000 JPEG took {elapsed:?} (large {} bytes, medium {}, thumbnail {})",
        processed.large.bytes.len(),
        processed.medium.bytes.len(),
        processed.thumbnail.bytes.len()
    );
    assert_eq!(
        (processed.original.width, processed.original.height),
        (4000, 3000)
    );
}

#[tokio::test]
async fn the_async_api_processes_on_a_blocking_thread() {
    let processed = media::process_async(jpeg(300, 200)).await.unwrap();
    assert_eq!(
        (processed.medium.width, processed.medium.height),
        (300, 200)
    );
    assert!(matches!(
        media::process_async(b"<svg/>".to_vec()).await,
        Err(MediaError::UnsupportedType)
    ));
}

// --- With the database ------------------------------------------------------------------------

/// A local store in a fresh directory (what production uses without S3).
fn local_store(quota_bytes: u64) -> (MediaStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sm-media-{}", Uuid::new_v4().simple()));
    (MediaStore::local(&dir, None, quota_bytes).unwrap(), dir)
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn has_file(dir: &Path, key: &str) -> bool {
    files(dir)
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == key))
}

const GIB: u64 = 1024 * 1024 * 1024;

/// How many distinct objects an upload becomes (equal derivatives of a small image are one).
fn object_count(upload: &[u8]) -> usize {
    media::process(upload).unwrap().objects().len()
}

fn content(title: &str) -> ProductContent {
    ProductContent {
        title: title.to_owned(),
        brand: None,
        description_html: String::new(),
        category: None,
        condition: Condition::New,
        weight_grams: None,
        dimensions: Dimensions::default(),
        attributes: vec![],
    }
}

fn variant(sku: &str, colour: &str) -> NewVariant {
    NewVariant {
        sku: Sku::parse(sku).unwrap(),
        gtin: None,
        option_values: vec![colour.to_owned()],
        price: Money::new(1999, Currency::Eur).unwrap(),
        on_hand: 0,
    }
}

/// A product with a red and a blue variant; returns the product's and the variants' ids.
async fn product(db: &Db, scope: &Scope, sku_prefix: &str) -> (Uuid, Vec<Uuid>) {
    let created = catalog::create_product(
        db,
        scope,
        NewProduct {
            content: content("Tasse"),
            option_names: vec!["Farbe".to_owned()],
            variants: vec![
                variant(&format!("{sku_prefix}-RED"), "Rot"),
                variant(&format!("{sku_prefix}-BLUE"), "Blau"),
            ],
        },
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    (
        created.product.id,
        created.variants.iter().map(|v| v.id).collect(),
    )
}

async fn image_outbox(db: &Db) -> Vec<(Uuid, String, i64)> {
    sync_outbox::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entity == "image")
        .map(|r| (r.entity_id, r.change, r.version))
        .collect()
}

async fn attach(
    db: &Db,
    store: &MediaStore,
    scope: &Scope,
    product_id: Uuid,
    bytes: Vec<u8>,
) -> media::ProductImage {
    media::attach_image(db, store, scope, product_id, None, bytes, Utc::now(), None)
        .await
        .unwrap()
}

async fn an_image_is_attached_listed_and_announced(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;

    let upload = camera_jpeg(&gradient(1000, 800), None);
    let image = media::attach_image(
        &db,
        &store,
        &owner,
        product_id,
        None,
        upload,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(image.position, 0);
    assert_eq!((image.width, image.height), (1000, 800));
    assert_eq!(image.content_type, "image/jpeg");
    assert_eq!(
        image.urls.original,
        format!("/media/{}", image.original_key)
    );
    assert!(image.urls.thumbnail.starts_with("/media/") && image.urls.thumbnail.ends_with(".jpg"));

    // Every object is in the directory under its key, without metadata.
    for url in [
        &image.urls.original,
        &image.urls.thumbnail,
        &image.urls.medium,
        &image.urls.large,
    ] {
        let key = url.strip_prefix("/media/").unwrap();
        assert!(has_file(&dir, key), "{key}");
        let stored = store.get(key).await.unwrap().expect("stored");
        assert_no_metadata(&stored.bytes, key);
        assert_eq!(media::MediaKey::parse(key).unwrap().sha256(), {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(&stored.bytes);
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        });
    }
    assert_eq!(files(&dir).len(), 4);

    let second = attach(&db, &store, &owner, product_id, png(50, 50, true)).await;
    assert_eq!(second.position, 1);
    let listed = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|i| i.id).collect::<Vec<_>>(),
        [image.id, second.id]
    );
    assert_eq!(listed[0], image);

    assert_eq!(
        image_outbox(&db).await,
        [
            (image.id, "created".into(), 1),
            (second.id, "created".into(), 1)
        ]
    );
    let events = audit::list(&db, Some(owner.organization_id()), 50)
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.action == "media.added").count(),
        2
    );
    let usage = media::usage(&db, &store, &owner).await.unwrap();
    assert_eq!(usage.used_bytes, image.byte_size + second.byte_size);
    assert_eq!(usage.quota_bytes, GIB);
}

async fn the_same_file_twice_is_one_object(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;
    let (other_product, _) = product(&db, &owner, "TB").await;
    let bytes = jpeg(640, 480);
    let objects = object_count(&bytes);
    assert_eq!(objects, 3, "medium and large are the same 640 × 480 image");
    let first = attach(&db, &store, &owner, product_id, bytes.clone()).await;
    let used = media::usage(&db, &store, &owner).await.unwrap().used_bytes;
    let again = attach(&db, &store, &owner, other_product, bytes.clone()).await;
    // The same photo with other metadata is the same image, too.
    let with_exif = camera_jpeg(&gradient(640, 480), None);
    let third = attach(&db, &store, &owner, product_id, with_exif).await;

    assert_eq!(first.media_object_id, again.media_object_id);
    assert_eq!(first.media_object_id, third.media_object_id);
    assert_ne!(first.id, again.id);
    assert_eq!(
        media_object::Entity::find().all(&db).await.unwrap().len(),
        1
    );
    assert_eq!(
        product_image::Entity::find().all(&db).await.unwrap().len(),
        3
    );
    assert_eq!(files(&dir).len(), objects, "written once");
    assert_eq!(
        media::usage(&db, &store, &owner).await.unwrap().used_bytes,
        used,
        "counted once"
    );
}

async fn the_quota_refuses_before_anything_is_written(db: Db) {
    let upload = jpeg(900, 700);
    let needed = media::process(&upload).unwrap().byte_size();
    let (store, dir) = local_store(needed - 1);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;

    let result = media::attach_image(
        &db,
        &store,
        &owner,
        product_id,
        None,
        upload,
        Utc::now(),
        None,
    )
    .await;
    assert!(
        matches!(result, Err(MediaError::QuotaExceeded { used: 0, needed: n, .. }) if n == needed),
        "{result:?}"
    );
    assert!(files(&dir).is_empty(), "nothing stored");
    assert!(
        media_object::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        product_image::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(image_outbox(&db).await.is_empty());

    // A smaller image still fits.
    let small = attach(&db, &store, &owner, product_id, jpeg(40, 40)).await;
    assert_eq!(
        media::usage(&db, &store, &owner).await.unwrap().used_bytes,
        small.byte_size
    );
}

async fn concurrent_uploads_of_one_file_make_one_object(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;
    let bytes = jpeg(700, 500);
    let (first, second) = tokio::join!(
        media::attach_image(
            &db,
            &store,
            &owner,
            product_id,
            None,
            bytes.clone(),
            Utc::now(),
            None
        ),
        media::attach_image(
            &db,
            &store,
            &owner,
            product_id,
            None,
            bytes.clone(),
            Utc::now(),
            None
        ),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.media_object_id, second.media_object_id);
    let mut positions = [first.position, second.position];
    positions.sort();
    assert_eq!(positions, [0, 1]);
    assert_eq!(
        media_object::Entity::find().all(&db).await.unwrap().len(),
        1
    );
    assert_eq!(files(&dir).len(), object_count(&bytes));
}

async fn images_are_reordered_and_moved_between_variants(db: Db) {
    let (store, _dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, variants) = product(&db, &owner, "TA").await;
    let (other_product, other_variants) = product(&db, &owner, "TB").await;
    let a = attach(&db, &store, &owner, product_id, jpeg(30, 30)).await;
    let b = attach(&db, &store, &owner, product_id, jpeg(31, 30)).await;
    let c = attach(&db, &store, &owner, product_id, jpeg(32, 30)).await;
    let elsewhere = attach(&db, &store, &owner, other_product, jpeg(33, 30)).await;
    let before = image_outbox(&db).await.len();

    media::reorder_images(&db, &owner, product_id, &[c.id, a.id, b.id], Utc::now())
        .await
        .unwrap();
    let order: Vec<Uuid> = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(order, [c.id, a.id, b.id]);
    // Every moved image was announced with its new version.
    let changes = image_outbox(&db).await;
    assert_eq!(
        &changes[before..],
        [
            (c.id, "updated".into(), 2),
            (a.id, "updated".into(), 2),
            (b.id, "updated".into(), 2)
        ]
    );

    for wrong in [
        vec![a.id, b.id],
        vec![a.id, b.id, c.id, c.id],
        vec![a.id, b.id, elsewhere.id],
        vec![a.id, b.id, c.id, elsewhere.id],
    ] {
        assert!(matches!(
            media::reorder_images(&db, &owner, product_id, &wrong, Utc::now()).await,
            Err(MediaError::NotTheProductsImages)
        ));
    }

    media::assign_variant(&db, &owner, b.id, Some(variants[1]), Utc::now())
        .await
        .unwrap();
    let listed = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap();
    assert_eq!(listed[2].variant_id, Some(variants[1]));
    // Another product's variant is not this image's to show.
    assert!(matches!(
        media::assign_variant(&db, &owner, b.id, Some(other_variants[0]), Utc::now()).await,
        Err(MediaError::Access(AccessError::NotFound))
    ));
    media::assign_variant(&db, &owner, b.id, None, Utc::now())
        .await
        .unwrap();
    let listed = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap();
    assert_eq!(listed[2].variant_id, None);
    assert_eq!(listed[2].version, 4);

    media::set_alt_text(&db, &owner, a.id, "  Rote Tasse von vorn ", Utc::now())
        .await
        .unwrap();
    let listed = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap();
    assert_eq!(listed[1].alt_text.as_deref(), Some("Rote Tasse von vorn"));
    assert!(matches!(
        media::set_alt_text(&db, &owner, a.id, &"x".repeat(251), Utc::now()).await,
        Err(MediaError::Field { .. })
    ));

    // Attached straight to a variant.
    let red = media::attach_image(
        &db,
        &store,
        &owner,
        product_id,
        Some(variants[0]),
        jpeg(34, 30),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!((red.variant_id, red.position), (Some(variants[0]), 3));
}

async fn the_last_reference_deletes_the_stored_objects(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, anna) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, ben) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let (anna_product, _) = product(&db, &anna, "TA").await;
    let (ben_product, _) = product(&db, &ben, "TA").await;
    let bytes = jpeg(500, 400);
    let objects = object_count(&bytes);
    let anna_image = attach(&db, &store, &anna, anna_product, bytes.clone()).await;
    let anna_again = attach(&db, &store, &anna, anna_product, bytes.clone()).await;
    let ben_image = attach(&db, &store, &ben, ben_product, bytes).await;
    // Two organizations, two rows (each pays for its own), one set of files.
    assert_ne!(anna_image.media_object_id, ben_image.media_object_id);
    assert_eq!(anna_image.original_key, ben_image.original_key);
    assert_eq!(files(&dir).len(), objects);

    media::remove_image(&db, &store, &anna, anna_image.id, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(files(&dir).len(), objects, "Anna still shows it");
    media::remove_image(&db, &store, &anna, anna_again.id, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(files(&dir).len(), objects, "Ben still shows it");
    assert_eq!(
        media_object::Entity::find().all(&db).await.unwrap().len(),
        1
    );
    assert_eq!(
        media::usage(&db, &store, &anna).await.unwrap().used_bytes,
        0
    );
    assert!(store.get(&anna_image.original_key).await.unwrap().is_some());

    media::remove_image(&db, &store, &ben, ben_image.id, Utc::now(), None)
        .await
        .unwrap();
    assert!(files(&dir).is_empty(), "{:?}", files(&dir));
    assert!(!has_file(&dir, &ben_image.original_key));
    assert!(store.get(&ben_image.original_key).await.unwrap().is_none());
    assert!(
        media_object::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        media::list_images(&db, &store, &anna, anna_product)
            .await
            .unwrap()
            .is_empty()
    );

    let deleted: Vec<_> = image_outbox(&db)
        .await
        .into_iter()
        .filter(|(_, change, _)| change == "deleted")
        .map(|(id, _, version)| (id, version))
        .collect();
    assert_eq!(
        deleted,
        [(anna_image.id, 2), (anna_again.id, 2), (ben_image.id, 2)]
    );
    let anna_events = audit::list(&db, Some(anna.organization_id()), 50)
        .await
        .unwrap();
    assert_eq!(
        anna_events
            .iter()
            .filter(|e| e.action == "media.removed")
            .count(),
        2
    );
}

async fn deleting_a_product_leaves_objects_for_the_sweep(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;
    let (kept_product, _) = product(&db, &owner, "TB").await;
    let deleted_upload = jpeg(2000, 1000);
    let objects = object_count(&deleted_upload);
    assert_eq!(objects, 4);
    attach(&db, &store, &owner, product_id, deleted_upload).await;
    let kept = attach(&db, &store, &owner, kept_product, png(60, 60, true)).await;
    let kept_files = files(&dir).len() - objects;

    catalog::delete_product(&db, &owner, product_id, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(
        product_image::Entity::find().all(&db).await.unwrap().len(),
        1
    );
    assert_eq!(files(&dir).len(), objects + kept_files, "not yet swept");

    let swept = media::delete_unreferenced(&db, &store).await.unwrap();
    assert_eq!(swept.rows, 1);
    assert_eq!(swept.objects, objects as u64);
    assert_eq!(files(&dir).len(), kept_files);
    assert!(has_file(&dir, &kept.original_key));
    assert_eq!(
        media::delete_unreferenced(&db, &store).await.unwrap(),
        media::Sweep::default()
    );
}

async fn other_organizations_get_not_found_everywhere(db: Db) {
    let (store, dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, stranger) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let (product_id, variants) = product(&db, &owner, "TA").await;
    let (stranger_product, _) = product(&db, &stranger, "TA").await;
    let image = attach(&db, &store, &owner, product_id, jpeg(80, 60)).await;
    let files_before = files(&dir).len();

    let not_found = |r: Result<(), MediaError>| {
        assert!(
            matches!(r, Err(MediaError::Access(AccessError::NotFound))),
            "{r:?}"
        )
    };
    not_found(
        media::attach_image(
            &db,
            &store,
            &stranger,
            product_id,
            None,
            jpeg(81, 60),
            Utc::now(),
            None,
        )
        .await
        .map(drop),
    );
    // Their own product with someone else's variant.
    not_found(
        media::attach_image(
            &db,
            &store,
            &stranger,
            stranger_product,
            Some(variants[0]),
            jpeg(82, 60),
            Utc::now(),
            None,
        )
        .await
        .map(drop),
    );
    not_found(
        media::list_images(&db, &store, &stranger, product_id)
            .await
            .map(drop),
    );
    not_found(media::reorder_images(&db, &stranger, product_id, &[image.id], Utc::now()).await);
    // Their own product, someone else's image: not one of the product's images.
    assert!(matches!(
        media::reorder_images(&db, &stranger, stranger_product, &[image.id], Utc::now()).await,
        Err(MediaError::NotTheProductsImages)
    ));
    not_found(media::assign_variant(&db, &stranger, image.id, None, Utc::now()).await);
    not_found(media::set_alt_text(&db, &stranger, image.id, "mine", Utc::now()).await);
    not_found(media::remove_image(&db, &store, &stranger, image.id, Utc::now(), None).await);

    // Nothing of theirs changed.
    assert_eq!(files(&dir).len(), files_before);
    let listed = media::list_images(&db, &store, &owner, product_id)
        .await
        .unwrap();
    assert_eq!(listed, [image]);
    assert_eq!(
        media::usage(&db, &store, &stranger)
            .await
            .unwrap()
            .used_bytes,
        0
    );
}

async fn viewers_read_and_only_editors_change(db: Db) {
    let (store, _dir) = local_store(GIB);
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (product_id, _) = product(&db, &owner, "TA").await;
    let image = attach(&db, &store, &owner, product_id, jpeg(80, 60)).await;
    let user_id = inserted_user(&db, "vera@example.com", "Vera", Locale::De).await;
    membership::ActiveModel {
        organization_id: Set(owner.organization_id()),
        user_id: Set(user_id),
        role: Set(Role::Viewer),
        created_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .unwrap();
    let viewer = Scope::for_member(&db, user_id, owner.organization_id())
        .await
        .unwrap();

    assert_eq!(
        media::list_images(&db, &store, &viewer, product_id)
            .await
            .unwrap()
            .len(),
        1
    );
    let forbidden = |r: Result<(), MediaError>| {
        assert!(
            matches!(r, Err(MediaError::Access(AccessError::Forbidden))),
            "{r:?}"
        )
    };
    forbidden(
        media::attach_image(
            &db,
            &store,
            &viewer,
            product_id,
            None,
            jpeg(10, 10),
            Utc::now(),
            None,
        )
        .await
        .map(drop),
    );
    forbidden(media::reorder_images(&db, &viewer, product_id, &[image.id], Utc::now()).await);
    forbidden(media::remove_image(&db, &store, &viewer, image.id, Utc::now(), None).await);
}

db_tests!(
    an_image_is_attached_listed_and_announced,
    the_same_file_twice_is_one_object,
    concurrent_uploads_of_one_file_make_one_object,
    the_quota_refuses_before_anything_is_written,
    images_are_reordered_and_moved_between_variants,
    the_last_reference_deletes_the_stored_objects,
    deleting_a_product_leaves_objects_for_the_sweep,
    other_organizations_get_not_found_everywhere,
    viewers_read_and_only_editors_change,
);
