//! Tiling equal-sized images into a contact sheet.

use image::{Rgb, RgbImage, imageops};

/// Layout of a grid of `count` tiles of `tile` pixels with `gap` pixels around each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    /// Tiles per row.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
    /// Size of one (square) tile in pixels, after scaling.
    pub tile: u32,
    /// Gap between tiles and around the border, in pixels.
    pub gap: u32,
}

impl GridLayout {
    /// A near-square grid: `cols` defaults to ceil(sqrt(count)).
    pub fn new(count: usize, cols: Option<u32>, tile: u32, gap: u32) -> Self {
        let count = count.max(1) as u32;
        let cols = cols.unwrap_or_else(|| (count as f64).sqrt().ceil() as u32).clamp(1, count);
        Self { cols, rows: count.div_ceil(cols), tile, gap }
    }

    /// Width and height of the whole sheet.
    pub fn size(&self) -> (u32, u32) {
        (self.cols * (self.tile + self.gap) + self.gap, self.rows * (self.tile + self.gap) + self.gap)
    }
}

/// Places `images` row by row on a white sheet, each scaled (nearest neighbour) to the layout's tile size.
pub fn grid(images: &[RgbImage], layout: GridLayout) -> RgbImage {
    let (w, h) = layout.size();
    let mut sheet = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    for (i, img) in images.iter().enumerate() {
        let (r, c) = (i as u32 / layout.cols, i as u32 % layout.cols);
        let tile = if img.width() == layout.tile && img.height() == layout.tile {
            img.clone()
        } else {
            imageops::resize(img, layout.tile, layout.tile, imageops::FilterType::Nearest)
        };
        let x = layout.gap + c * (layout.tile + layout.gap);
        let y = layout.gap + r * (layout.tile + layout.gap);
        imageops::replace(&mut sheet, &tile, x as i64, y as i64);
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_placement() {
        let layout = GridLayout::new(5, None, 4, 1);
        assert_eq!((layout.cols, layout.rows), (3, 2));
        assert_eq!(layout.size(), (16, 11));
        let tiles: Vec<RgbImage> = (0..5).map(|i| RgbImage::from_pixel(2, 2, Rgb([i * 40, 0, 0]))).collect();
        let sheet = grid(&tiles, layout);
        assert_eq!(sheet.get_pixel(1, 1), &Rgb([0, 0, 0]));
        assert_eq!(sheet.get_pixel(6 + 3, 6 + 3), &Rgb([160, 0, 0])); // tile 4: row 1, col 1
        assert_eq!(sheet.get_pixel(0, 0), &Rgb([255, 255, 255]));
        assert_eq!(sheet.get_pixel(15, 10), &Rgb([255, 255, 255])); // empty sixth cell
    }
}
