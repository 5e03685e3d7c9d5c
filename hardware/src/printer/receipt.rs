//! The receipt document: what to print, independent of paper width and printer commands.

/// Where a line sits across the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Character magnification; double width halves the columns a line can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Size {
    #[default]
    Normal,
    DoubleWidth,
    DoubleHeight,
    Double,
}

impl Size {
    /// Horizontal magnification (1 or 2).
    pub fn width(self) -> u8 {
        match self {
            Size::Normal | Size::DoubleHeight => 1,
            Size::DoubleWidth | Size::Double => 2,
        }
    }

    /// Vertical magnification (1 or 2).
    pub fn height(self) -> u8 {
        match self {
            Size::Normal | Size::DoubleWidth => 1,
            Size::DoubleHeight | Size::Double => 2,
        }
    }
}

/// How a text line is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Style {
    pub bold: bool,
    pub size: Size,
    pub align: Align,
}

impl Style {
    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }

    pub fn size(mut self, size: Size) -> Self {
        self.size = size;
        self
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    pub fn centered(self) -> Self {
        self.align(Align::Center)
    }

    /// The style of a receipt title: bold, double size, centred.
    pub fn title() -> Self {
        Style::default().bold().size(Size::Double).centered()
    }
}

/// One block of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// A centred, bold, double-size heading.
    Title(String),
    /// Text wrapped to the paper, every wrapped line in the same style.
    Text { text: String, style: Style },
    /// `label` then `value`; a long value wraps under itself, not under the label.
    Row { label: String, value: String },
    /// A dashed rule across the paper.
    Separator,
    /// A QR code of these bytes, centred.
    Qr(String),
    /// Blank lines.
    Feed(u8),
    /// Feed past the cutter and cut.
    Cut,
}

/// A receipt: elements printed top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    elements: Vec<Element>,
}

impl Receipt {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    pub fn push(&mut self, element: Element) {
        self.elements.push(element);
    }

    pub fn title(mut self, text: impl Into<String>) -> Self {
        self.push(Element::Title(text.into()));
        self
    }

    /// Plain left-aligned text.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.styled(text, Style::default())
    }

    pub fn styled(mut self, text: impl Into<String>, style: Style) -> Self {
        self.push(Element::Text {
            text: text.into(),
            style,
        });
        self
    }

    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(Element::Row {
            label: label.into(),
            value: value.into(),
        });
        self
    }

    pub fn separator(mut self) -> Self {
        self.push(Element::Separator);
        self
    }

    pub fn qr(mut self, payload: impl Into<String>) -> Self {
        self.push(Element::Qr(payload.into()));
        self
    }

    pub fn feed(mut self, lines: u8) -> Self {
        self.push(Element::Feed(lines));
        self
    }

    pub fn cut(mut self) -> Self {
        self.push(Element::Cut);
        self
    }
}
