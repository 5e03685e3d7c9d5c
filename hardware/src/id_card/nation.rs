//! 民族 (nation) codes of GB 3304 as resident ID cards carry them.

use std::fmt;

/// The 56 nations, "other" (97) and "foreign-born Chinese citizen" (98).
const NATIONS: [(u8, &str); 58] = [
    (1, "汉"),
    (2, "蒙古"),
    (3, "回"),
    (4, "藏"),
    (5, "维吾尔"),
    (6, "苗"),
    (7, "彝"),
    (8, "壮"),
    (9, "布依"),
    (10, "朝鲜"),
    (11, "满"),
    (12, "侗"),
    (13, "瑶"),
    (14, "白"),
    (15, "土家"),
    (16, "哈尼"),
    (17, "哈萨克"),
    (18, "傣"),
    (19, "黎"),
    (20, "傈僳"),
    (21, "佤"),
    (22, "畲"),
    (23, "高山"),
    (24, "拉祜"),
    (25, "水"),
    (26, "东乡"),
    (27, "纳西"),
    (28, "景颇"),
    (29, "柯尔克孜"),
    (30, "土"),
    (31, "达斡尔"),
    (32, "仫佬"),
    (33, "羌"),
    (34, "布朗"),
    (35, "撒拉"),
    (36, "毛南"),
    (37, "仡佬"),
    (38, "锡伯"),
    (39, "阿昌"),
    (40, "普米"),
    (41, "塔吉克"),
    (42, "怒"),
    (43, "乌孜别克"),
    (44, "俄罗斯"),
    (45, "鄂温克"),
    (46, "德昂"),
    (47, "保安"),
    (48, "裕固"),
    (49, "京"),
    (50, "塔塔尔"),
    (51, "独龙"),
    (52, "鄂伦春"),
    (53, "赫哲"),
    (54, "门巴"),
    (55, "珞巴"),
    (56, "基诺"),
    (97, "其他"),
    (98, "外国血统中国籍人士"),
];

/// A nation code as stored on the card (two ASCII digits). Unknown codes are kept, not
/// rejected: the card is still a valid card, the booth just cannot name the nation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "NationRepr")]
pub struct Nation(u8);

/// A nation code outside 0..=99, or a name not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a nation code (1-56, 97, 98) or a nation name such as 汉 or 蒙古")]
pub struct UnknownNation(String);

impl Nation {
    /// 汉.
    pub const HAN: Nation = Nation(1);

    pub fn from_code(code: u8) -> Self {
        Self(code)
    }

    /// Looks a name up, with or without the trailing 族 (`汉`, `汉族`).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let name = name
            .strip_suffix('族')
            .filter(|short| !short.is_empty())
            .unwrap_or(name);
        NATIONS
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(code, _)| Self(*code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The name as printed on the card (without 族), or `None` for a code not in GB 3304.
    pub fn name(self) -> Option<&'static str> {
        NATIONS
            .iter()
            .find(|(code, _)| *code == self.0)
            .map(|(_, name)| *name)
    }
}

impl fmt::Display for Nation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "未知民族代码 {:02}", self.0),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum NationRepr {
    Code(u8),
    Text(String),
}

impl TryFrom<NationRepr> for Nation {
    type Error = UnknownNation;

    fn try_from(repr: NationRepr) -> Result<Self, Self::Error> {
        match repr {
            NationRepr::Code(code) if code <= 99 => Ok(Nation(code)),
            NationRepr::Code(code) => Err(UnknownNation(code.to_string())),
            NationRepr::Text(text) => match text.trim().parse::<u8>() {
                Ok(code) if code <= 99 => Ok(Nation(code)),
                _ => Nation::from_name(&text).ok_or(UnknownNation(text)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        let codes: Vec<u8> = NATIONS.iter().map(|(code, _)| *code).collect();
        let mut expected: Vec<u8> = (1..=56).collect();
        expected.extend([97, 98]);
        assert_eq!(codes, expected);
        assert_eq!(Nation::from_code(46).name(), Some("德昂"));
        assert_eq!(Nation::from_code(98).name(), Some("外国血统中国籍人士"));
    }

    #[test]
    fn names_and_codes_both_work() {
        assert_eq!(Nation::from_name("汉族"), Some(Nation::HAN));
        assert_eq!(Nation::from_name("蒙古"), Some(Nation::from_code(2)));
        assert_eq!(Nation::from_name("火星"), None);
        assert_eq!(Nation::from_code(57).name(), None);
        assert_eq!(Nation::from_code(57).to_string(), "未知民族代码 57");
        assert_eq!(Nation::from_code(8).to_string(), "壮");
    }

    #[test]
    fn deserialises_from_code_or_name() {
        let code: Nation = serde_json::from_str("8").unwrap();
        let text: Nation = serde_json::from_str("\"08\"").unwrap();
        let name: Nation = serde_json::from_str("\"壮族\"").unwrap();
        assert_eq!((code, text, name), (Nation(8), Nation(8), Nation(8)));
        assert!(serde_json::from_str::<Nation>("\"火星\"").is_err());
    }
}
