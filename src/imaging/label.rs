//! Numbers drawn into images (the values printed under the frames of a sweep) with a built-in 3 x 5 pixel
//! font: digits, signs, the decimal point, and the unit marks used for attributes (degrees, percent, y).

use image::{Rgb, RgbImage};

/// Glyph rows (3 bits each, left pixel highest) for a character, or `None` when the font lacks it.
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '%' => [0b101, 0b001, 0b010, 0b100, 0b101],
        '°' => [0b010, 0b101, 0b010, 0b000, 0b000],
        'y' => [0b101, 0b101, 0b011, 0b001, 0b110],
        ' ' => [0; 5],
        _ => return None,
    })
}

/// Width in pixels of `text` drawn at `scale` (a 1-pixel gap between characters; unknown characters are
/// skipped).
pub fn text_width(text: &str, scale: u32) -> u32 {
    let n = text.chars().filter(|c| glyph(*c).is_some()).count() as u32;
    if n == 0 { 0 } else { (n * 4 - 1) * scale }
}

/// Height in pixels of a line at `scale`.
pub fn text_height(scale: u32) -> u32 {
    5 * scale
}

/// Draws `text` with its top-left corner at (`x`, `y`), each font pixel a `scale` x `scale` square;
/// whatever falls outside the image is clipped.
pub fn draw_text(image: &mut RgbImage, x: u32, y: u32, text: &str, scale: u32, colour: Rgb<u8>) {
    let mut left = x;
    for rows in text.chars().filter_map(glyph) {
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..3u32 {
                if bits & (0b100 >> c) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (left + c * scale + dx, y + r as u32 * scale + dy);
                        if px < image.width() && py < image.height() {
                            image.put_pixel(px, py, colour);
                        }
                    }
                }
            }
        }
        left += 4 * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_where_and_as_wide_as_measured() {
        let mut image = RgbImage::new(40, 16);
        let white = Rgb([255, 255, 255]);
        draw_text(&mut image, 2, 3, "-1.5°", 2, white);
        assert_eq!(text_width("-1.5°", 2), (5 * 4 - 1) * 2);
        let lit: Vec<(u32, u32)> = image.enumerate_pixels().filter(|p| p.2[0] == 255).map(|p| (p.0, p.1)).collect();
        let (min_x, max_x) = (lit.iter().map(|p| p.0).min().unwrap(), lit.iter().map(|p| p.0).max().unwrap());
        let (min_y, max_y) = (lit.iter().map(|p| p.1).min().unwrap(), lit.iter().map(|p| p.1).max().unwrap());
        assert_eq!(min_x, 2);
        assert!(max_x < 2 + text_width("-1.5°", 2));
        assert_eq!((min_y, max_y), (3, 3 + text_height(2) - 1));
        // The "1" differs from the "7": glyphs are distinct.
        let mut a = RgbImage::new(8, 8);
        let mut b = RgbImage::new(8, 8);
        draw_text(&mut a, 0, 0, "1", 1, white);
        draw_text(&mut b, 0, 0, "7", 1, white);
        assert_ne!(a, b);
    }
}
