//! The complaint form's rules: a category, some text, and an optional phone number a person
//! can call back. No name is asked; the ID card is attached only when the villager asks.

use std::collections::BTreeMap;

use sync_protocol::submission::{MAX_TEXT_CHARS, SubmissionKind};

use kiosk_core::submit::Draft;

/// The form field that carries the category, in Chinese like the rest of the county's data.
pub const CATEGORY_FIELD: &str = "category";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    ServiceAttitude,
    Efficiency,
    Fees,
    Facilities,
    Other,
}

impl Category {
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::ServiceAttitude => "服务态度",
            Self::Efficiency => "办事效率",
            Self::Fees => "收费问题",
            Self::Facilities => "环境设施",
            Self::Other => "其他",
        }
    }
}

/// What the villager filled in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ComplaintForm {
    pub category: Option<Category>,
    pub text: String,
    pub phone: String,
    /// Name and ID number from the card read in this session, only if they chose to attach it.
    pub identity: Option<(String, String)>,
}

impl std::fmt::Debug for ComplaintForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text, phone and identity are the villager's: never printed.
        f.debug_struct("ComplaintForm")
            .field("category", &self.category)
            .field("identity_attached", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the form cannot be sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("no category chosen")]
    NoCategory,
    #[error("no text written")]
    NoText,
    #[error("the text is longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong,
    #[error("the phone number is neither a mobile number nor a landline with area code")]
    BadPhone,
}

impl ComplaintForm {
    /// The submission draft, or the first thing to fix (in the order the form asks for them).
    pub fn draft(&self) -> Result<Draft, Problem> {
        let category = self.category.ok_or(Problem::NoCategory)?;
        let text = self.text.trim();
        if text.is_empty() {
            return Err(Problem::NoText);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(Problem::TextTooLong);
        }
        let phone = contact_phone(&self.phone)?;
        let (name, id_number) = self.identity.clone().unzip();
        Ok(Draft {
            kind: SubmissionKind::Complaint,
            item_code: None,
            fields: BTreeMap::from([(CATEGORY_FIELD.to_owned(), category.name_zh().to_owned())]),
            text: Some(text.to_owned()),
            rating: None,
            name,
            id_number,
            address: None,
            contact_phone: phone,
        })
    }
}

/// The phone number as typed (trimmed), `None` when left empty.
///
/// The rule is the wire format's (`sync_protocol::phone`), which the booth's store and the
/// county server apply too: an 11-digit mainland mobile number, or a landline with its area
/// code (010-12345678, 0775-1234567), spaces or hyphens between groups of digits.
pub fn contact_phone(typed: &str) -> Result<Option<String>, Problem> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    if sync_protocol::phone::is_valid(typed) {
        Ok(Some(typed.to_owned()))
    } else {
        Err(Problem::BadPhone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> ComplaintForm {
        ComplaintForm {
            category: Some(Category::Efficiency),
            text: "  办事太慢  ".into(),
            phone: String::new(),
            identity: None,
        }
    }

    #[test]
    fn mobiles_and_landlines_with_area_code_are_accepted() {
        for good in [
            "13812345678",
            "199 1234 5678",
            "010-12345678",
            "0775-1234567",
            "0775 12345678",
            "07751234567",
        ] {
            assert_eq!(contact_phone(good), Ok(Some(good.to_owned())), "{good}");
        }
        assert_eq!(contact_phone("   "), Ok(None));
        for bad in [
            "12812345678",
            "1381234567",
            "138123456789",
            "1234567",
            "0012345678",
            "010-1234567",
            "0775-123456",
            "+8613812345678",
            "138x2345678",
            "138--1234-5678",
        ] {
            assert_eq!(contact_phone(bad), Err(Problem::BadPhone), "{bad}");
        }
    }

    #[test]
    fn an_anonymous_complaint_carries_its_category_and_text_only() {
        let draft = filled().draft().expect("complete");
        assert_eq!(draft.kind, SubmissionKind::Complaint);
        assert_eq!(draft.text.as_deref(), Some("办事太慢"));
        assert_eq!(
            draft.fields.get(CATEGORY_FIELD).map(String::as_str),
            Some("办事效率")
        );
        assert!(draft.name.is_none() && draft.id_number.is_none() && draft.address.is_none());
        assert!(draft.contact_phone.is_none());
        let prepared = kiosk_core::submit::prepare(draft, kiosk_core::submit::ItemLookup::NoItem)
            .expect("a complaint needs no item");
        assert!(prepared.applicant.is_none(), "anonymous");
    }

    #[test]
    fn identity_is_attached_only_when_given() {
        let mut form = filled();
        form.identity = Some(("李秀英".into(), "450902196208150028".into()));
        form.phone = "0775-1234567".into();
        let draft = form.draft().expect("complete");
        assert_eq!(draft.name.as_deref(), Some("李秀英"));
        assert_eq!(draft.id_number.as_deref(), Some("450902196208150028"));
        assert_eq!(draft.contact_phone.as_deref(), Some("0775-1234567"));
        assert!(!format!("{form:?}").contains("李秀英"));
    }

    #[test]
    fn problems_come_in_the_order_the_form_asks() {
        let mut form = ComplaintForm::default();
        assert_eq!(form.draft().unwrap_err(), Problem::NoCategory);
        form.category = Some(Category::Other);
        form.text = " \n ".into();
        assert_eq!(form.draft().unwrap_err(), Problem::NoText);
        form.text = "字".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(form.draft().unwrap_err(), Problem::TextTooLong);
        form.text = "字".repeat(MAX_TEXT_CHARS);
        form.phone = "12345".into();
        assert_eq!(form.draft().unwrap_err(), Problem::BadPhone);
    }
}
