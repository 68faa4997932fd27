//! Image checks and thumbnails: decodes an uploaded image under memory and size
//! limits (a bomb is refused, not decoded), says whether its real format is the one
//! declared, and scales it down to a JPEG (a PNG when it has transparency).

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// The content types whose bytes are decoded for a thumbnail.
pub(super) fn is_thumbnailable(content_type: &str) -> bool {
    format_of(content_type).is_some()
}

fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// A made thumbnail and the original's dimensions.
pub(super) struct Thumbnail {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why an image was not usable.
#[derive(Debug, thiserror::Error)]
pub(super) enum ImageProblem {
    #[error("the file is not a {declared} image")]
    WrongFormat { declared: String },
    #[error("the image could not be read: {0}")]
    Unreadable(String),
}

/// Memory all decodes of this process may hold at once, in MiB: a decode waits
/// for its share (4 bytes a pixel), so concurrent confirms of large images queue
/// instead of taking the process's memory together.
const DECODE_BUDGET_MIB: u32 = 384;
static DECODE_BUDGET: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(DECODE_BUDGET_MIB as usize);

/// The image's width and height from its header, without decoding it; its real
/// format must be the declared one.
pub(super) fn dimensions(bytes: &[u8], content_type: &str) -> Result<(u32, u32), ImageProblem> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageProblem::Unreadable(e.to_string()))?;
    if reader.format().is_none() || reader.format() != format_of(content_type) {
        return Err(ImageProblem::WrongFormat {
            declared: content_type.to_string(),
        });
    }
    reader
        .into_dimensions()
        .map_err(|e| ImageProblem::Unreadable(e.to_string()))
}

/// Waits for the memory a decode of `width` × `height` needs from the budget.
pub(super) async fn decode_share(width: u32, height: u32) -> tokio::sync::SemaphorePermit<'static> {
    let mib = (u64::from(width) * u64::from(height) * 4).div_ceil(1024 * 1024);
    let mib = mib.clamp(1, u64::from(DECODE_BUDGET_MIB)) as u32;
    DECODE_BUDGET
        .acquire_many(mib)
        .await
        .expect("the decode budget is never closed")
}

/// Decodes `bytes` (declared as `content_type`) and makes a thumbnail whose longer
/// side is at most `px`. CPU-bound: call it from a blocking thread.
pub(super) fn make(bytes: &[u8], content_type: &str, px: u32) -> Result<Thumbnail, ImageProblem> {
    let declared = format_of(content_type).ok_or_else(|| ImageProblem::WrongFormat {
        declared: content_type.to_string(),
    })?;
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageProblem::Unreadable(e.to_string()))?;
    if reader.format() != Some(declared) {
        return Err(ImageProblem::WrongFormat {
            declared: content_type.to_string(),
        });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| ImageProblem::Unreadable(e.to_string()))?;
    let (width, height) = (image.width(), image.height());
    let small = image.thumbnail(px, px);
    let mut out = Cursor::new(Vec::new());
    let (format, content_type, extension) = if small.color().has_alpha() {
        (ImageFormat::Png, "image/png", "png")
    } else {
        (ImageFormat::Jpeg, "image/jpeg", "jpg")
    };
    let small = if format == ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(small.to_rgb8())
    } else {
        small
    };
    small
        .write_to(&mut out, format)
        .map_err(|e| ImageProblem::Unreadable(e.to_string()))?;
    Ok(Thumbnail {
        bytes: out.into_inner(),
        content_type,
        extension,
        width,
        height,
    })
}
