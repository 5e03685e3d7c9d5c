//! The review chain as a pure state machine: which level holds a submission, who may act
//! there, and what each action does to it and tells the villager. The store applies a
//! planned [`Transition`] only if the submission is still in the state it was planned from.
//!
//! Levels: 1 is the handler (承办人). A two-level chain ends with the approver (审批人); a
//! three-level chain puts the reviewer (审查人) between them. Each level's action closes that
//! level only: the next level decides again, and may send it back.

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::feed::{
    CorrectionMaterial, MAX_CORRECTION_MATERIALS, Material, SubmissionStatus, TimeLimit,
};
use sync_protocol::submission::SubmissionKind;

use super::access::Role;
use super::calendar::{WorkingCalendar, china_date};

/// Where a submission stands in review, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewState {
    pub status: SubmissionStatus,
    /// The level that holds it: 1, 2 or 3.
    pub stage: u8,
    /// How many levels its chain has; fixed when accepted.
    pub levels: Option<u8>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// When a correction after acceptance stopped the clock.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Working days the clock stood still, added to the time limit.
    pub suspended_days: u32,
    /// The promised date, China time.
    pub due_on: Option<NaiveDate>,
}

impl ReviewState {
    /// A submission as it arrives.
    pub fn received() -> Self {
        Self {
            status: SubmissionStatus::Received,
            stage: 1,
            levels: None,
            accepted_at: None,
            suspended_at: None,
            suspended_days: 0,
            due_on: None,
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self.status,
            SubmissionStatus::Approved | SubmissionStatus::Rejected
        )
    }

    /// Overdue on `today`: open and past its promised date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        !self.is_final() && self.due_on.is_some_and(|due| due < today)
    }
}

/// What a chain needs to know about the thing under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub levels: u8,
    /// Working days from acceptance; 0 for 即办件.
    pub days: u32,
}

/// The chain and limit of a submission: an application's from its catalogue item, a
/// complaint's and a consultation's from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindRules {
    pub complaint: Rules,
    pub consultation: Rules,
}

impl Default for KindRules {
    fn default() -> Self {
        Self {
            // 承办人 → 审批人: a complaint is answered with the approver's sign-off.
            complaint: Rules {
                levels: 2,
                days: 10,
            },
            // A question is answered by whoever takes it.
            consultation: Rules { levels: 1, days: 5 },
        }
    }
}

impl KindRules {
    /// `None` for kinds that are not reviewed (ratings have follow-ups instead).
    pub fn for_submission(
        &self,
        kind: SubmissionKind,
        item: Option<(u8, TimeLimit)>,
    ) -> Option<Rules> {
        match kind {
            SubmissionKind::Application => {
                let (levels, limit) = item.unwrap_or((3, TimeLimit::WorkingDays { days: 20 }));
                Some(Rules {
                    levels: levels.clamp(1, 3),
                    days: match limit {
                        TimeLimit::OnTheSpot => 0,
                        TimeLimit::WorkingDays { days } => u32::from(days),
                    },
                })
            }
            SubmissionKind::Complaint => Some(self.complaint),
            SubmissionKind::Consultation => Some(self.consultation),
            SubmissionKind::Evaluation => None,
        }
    }
}

/// The role that acts at `stage` of a chain of `levels`.
pub fn role_at(stage: u8, levels: u8) -> Role {
    match (stage, levels) {
        (1, _) => Role::Handler,
        (2, 3) => Role::Reviewer,
        _ => Role::Approver,
    }
}

/// What staff can do at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// 受理: take it on; the clock starts.
    Accept,
    /// 一次性告知补正: ask the villager to bring or fix materials (the message lists them).
    RequestCorrection,
    /// 补正材料已收到: the villager brought them; review goes on where it was.
    CorrectionReceived,
    /// 转下一级: this level is done, the next decides.
    Forward,
    /// 退回上一级.
    Return,
    /// 不予受理 / 不予批准, with a reason.
    Reject,
    /// 办结 / 批准: the last level's yes.
    Approve,
}

impl Action {
    pub const ALL: [Self; 7] = [
        Self::Accept,
        Self::RequestCorrection,
        Self::CorrectionReceived,
        Self::Forward,
        Self::Return,
        Self::Reject,
        Self::Approve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::RequestCorrection => "request_correction",
            Self::CorrectionReceived => "correction_received",
            Self::Forward => "forward",
            Self::Return => "return",
            Self::Reject => "reject",
            Self::Approve => "approve",
        }
    }

    /// Whether the comment is what the villager is told, and so may not be empty.
    pub fn needs_comment(self) -> bool {
        matches!(self, Self::RequestCorrection | Self::Reject | Self::Return)
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not a review action"))
    }
}

/// Why an action cannot be taken now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("it is finished ({0:?}): nothing more can be done")]
    Final(SubmissionStatus),
    #[error("level {stage} is for the {needed} role; you are {actual}")]
    NotYourLevel {
        stage: u8,
        needed: Role,
        actual: Role,
    },
    #[error("{action} is not possible while it is {status:?} at level {stage}")]
    NotNow {
        action: &'static str,
        status: SubmissionStatus,
        stage: u8,
    },
    #[error("{0} needs a comment: say what the villager must know")]
    CommentRequired(&'static str),
    #[error("ratings are not reviewed: they are followed up")]
    NotReviewed,
    #[error("only a correction request names materials")]
    MaterialsOnlyForCorrection,
    #[error("a correction request names at most {MAX_CORRECTION_MATERIALS} materials")]
    TooManyMaterials,
    #[error("the item lists no material number {0}: reload the page")]
    NoSuchMaterial(usize),
}

/// What staff say with an action: the comment, and for a correction request the materials
/// it names (see [`correction_materials`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Said<'a> {
    pub comment: &'a str,
    pub materials: &'a [CorrectionMaterial],
}

impl<'a> From<&'a str> for Said<'a> {
    fn from(comment: &'a str) -> Self {
        Self {
            comment,
            materials: &[],
        }
    }
}

/// The materials a correction request names, from the indexes ticked on the page: each must
/// be in the item's list (`listed`, the item at the submission's catalogue version), and its
/// name is the list's, whatever the form sent. In the guide's order, each once.
pub fn correction_materials(
    listed: &[Material],
    ticked: &[u16],
) -> Result<Vec<CorrectionMaterial>, Refusal> {
    let mut indexes: Vec<u16> = ticked.to_vec();
    indexes.sort_unstable();
    indexes.dedup();
    if indexes.len() > MAX_CORRECTION_MATERIALS {
        return Err(Refusal::TooManyMaterials);
    }
    indexes
        .into_iter()
        .map(|index| {
            listed
                .get(usize::from(index))
                .map(|material| CorrectionMaterial {
                    index,
                    name: material.name.clone(),
                })
                .ok_or(Refusal::NoSuchMaterial(usize::from(index) + 1))
        })
        .collect()
}

/// What the villager is told of a correction request: the materials by name, then the
/// reason; without materials named, the reason alone as before.
pub fn correction_note(materials: &[CorrectionMaterial], comment: &str) -> String {
    if materials.is_empty() {
        return format!("请补正材料：{comment}");
    }
    let names: Vec<&str> = materials.iter().map(|m| m.name.as_str()).collect();
    format!("请补正以下材料：{}。原因：{comment}", names.join("、"))
}

/// The result of an action: the new state, the status the villager sees, and the line sent
/// with it to the booth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub action: Action,
    pub state: ReviewState,
    pub villager_note: Option<String>,
}

/// Plans `action` by `role` on a submission in `state`, at `now`, with what staff `said`.
pub fn plan(
    state: &ReviewState,
    action: Action,
    role: Role,
    rules: Option<Rules>,
    said: Said<'_>,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    let rules = rules.ok_or(Refusal::NotReviewed)?;
    if state.is_final() {
        return Err(Refusal::Final(state.status));
    }
    let levels = state.levels.unwrap_or(rules.levels);
    let needed = role_at(state.stage, levels);
    if role != needed {
        return Err(Refusal::NotYourLevel {
            stage: state.stage,
            needed,
            actual: role,
        });
    }
    let comment = said.comment.trim();
    if action.needs_comment() && comment.is_empty() {
        return Err(Refusal::CommentRequired(action.as_str()));
    }
    if !said.materials.is_empty() && action != Action::RequestCorrection {
        return Err(Refusal::MaterialsOnlyForCorrection);
    }
    if said.materials.len() > MAX_CORRECTION_MATERIALS {
        return Err(Refusal::TooManyMaterials);
    }
    let not_now = || Refusal::NotNow {
        action: action.as_str(),
        status: state.status,
        stage: state.stage,
    };
    let today = china_date(now);
    let accepted = state.accepted_at.is_some();
    let mut next = state.clone();
    let with_comment = |prefix: &str| {
        if comment.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}：{comment}")
        }
    };
    let note = match (action, state.status) {
        (Action::Accept, SubmissionStatus::Received) => {
            next.status = SubmissionStatus::Accepted;
            next.levels = Some(rules.levels);
            next.accepted_at = Some(now);
            let due = calendar.add_working_days(today, rules.days);
            next.due_on = Some(due);
            with_comment(&format!("已受理，承诺{}前办结", due.format("%Y年%m月%d日")))
        }
        (
            Action::RequestCorrection,
            SubmissionStatus::Received | SubmissionStatus::Accepted | SubmissionStatus::InReview,
        ) => {
            next.status = SubmissionStatus::NeedsCorrection;
            if accepted {
                next.suspended_at = Some(now);
            }
            correction_note(said.materials, comment)
        }
        (Action::CorrectionReceived, SubmissionStatus::NeedsCorrection) => {
            next.status = match (accepted, state.stage) {
                (false, _) => SubmissionStatus::Received,
                (true, 1) => SubmissionStatus::Accepted,
                (true, _) => SubmissionStatus::InReview,
            };
            if let Some(since) = state.suspended_at {
                let stood = calendar.working_days_between(china_date(since), today);
                next.suspended_days = state.suspended_days + stood;
                next.suspended_at = None;
                next.due_on = state
                    .due_on
                    .map(|due| calendar.add_working_days(due, stood));
            }
            with_comment("补正材料已收到，继续办理")
        }
        (Action::Forward, SubmissionStatus::Accepted | SubmissionStatus::InReview)
            if state.stage < levels =>
        {
            next.status = SubmissionStatus::InReview;
            next.stage = state.stage + 1;
            let to = match role_at(next.stage, levels) {
                Role::Reviewer => "已转审查",
                _ => "已转审批",
            };
            with_comment(to)
        }
        (Action::Return, SubmissionStatus::InReview) if state.stage > 1 => {
            next.stage = state.stage - 1;
            next.status = if next.stage == 1 {
                SubmissionStatus::Accepted
            } else {
                SubmissionStatus::InReview
            };
            format!("退回重新办理：{comment}")
        }
        (
            Action::Reject,
            SubmissionStatus::Received
            | SubmissionStatus::Accepted
            | SubmissionStatus::InReview
            | SubmissionStatus::NeedsCorrection,
        ) => {
            next.status = SubmissionStatus::Rejected;
            next.suspended_at = None;
            let what = if accepted {
                "不予批准"
            } else {
                "不予受理"
            };
            format!("{what}：{comment}")
        }
        (Action::Approve, SubmissionStatus::Accepted | SubmissionStatus::InReview)
            if state.stage == levels =>
        {
            next.status = SubmissionStatus::Approved;
            with_comment("已办结")
        }
        _ => return Err(not_now()),
    };
    Ok(Transition {
        action,
        state: next,
        villager_note: Some(note),
    })
}

/// The actions `role` could take on `state` (the page offers only these).
pub fn available(
    state: &ReviewState,
    role: Role,
    rules: Option<Rules>,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|action| plan(state, *action, role, rules, "有".into(), calendar, now).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const THREE: Rules = Rules {
        levels: 3,
        days: 15,
    };

    fn step(state: &ReviewState, action: Action, role: Role, now: &str) -> ReviewState {
        plan(
            state,
            action,
            role,
            Some(THREE),
            "理由".into(),
            &WorkingCalendar::default(),
            at(now),
        )
        .unwrap_or_else(|refusal| panic!("{action:?} by {role}: {refusal}"))
        .state
    }

    #[test]
    fn three_levels_take_it_from_received_to_approved() {
        let received = ReviewState::received();
        // Friday 27 November 2026, 10:00 in Beijing.
        let accepted = step(
            &received,
            Action::Accept,
            Role::Handler,
            "2026-11-27T02:00:00Z",
        );
        assert_eq!(accepted.status, SubmissionStatus::Accepted);
        assert_eq!(accepted.levels, Some(3));
        assert_eq!(accepted.due_on, Some("2026-12-18".parse().unwrap()));
        let reviewing = step(
            &accepted,
            Action::Forward,
            Role::Handler,
            "2026-11-27T03:00:00Z",
        );
        assert_eq!(
            (reviewing.status, reviewing.stage),
            (SubmissionStatus::InReview, 2)
        );
        let approving = step(
            &reviewing,
            Action::Forward,
            Role::Reviewer,
            "2026-11-30T03:00:00Z",
        );
        assert_eq!(approving.stage, 3);
        let done = step(
            &approving,
            Action::Approve,
            Role::Approver,
            "2026-12-01T03:00:00Z",
        );
        assert_eq!(done.status, SubmissionStatus::Approved);
        assert!(
            available(
                &done,
                Role::Approver,
                Some(THREE),
                &WorkingCalendar::default(),
                at("2026-12-01T03:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn each_level_acts_only_at_its_own_level() {
        let accepted = step(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            "2026-11-27T02:00:00Z",
        );
        for role in [Role::Reviewer, Role::Approver, Role::Viewer, Role::Admin] {
            let refused = plan(
                &accepted,
                Action::Forward,
                role,
                Some(THREE),
                "".into(),
                &WorkingCalendar::default(),
                at("2026-11-27T03:00:00Z"),
            );
            assert!(
                matches!(refused, Err(Refusal::NotYourLevel { stage: 1, .. })),
                "{role}: {refused:?}"
            );
        }
    }

    #[test]
    fn a_one_level_chain_is_approved_by_the_handler_and_two_levels_skip_the_reviewer() {
        let one = Rules { levels: 1, days: 0 };
        let calendar = WorkingCalendar::default();
        let now = at("2026-11-27T02:00:00Z");
        let accepted = plan(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            Some(one),
            "".into(),
            &calendar,
            now,
        )
        .unwrap()
        .state;
        assert_eq!(
            accepted.due_on,
            Some("2026-11-27".parse().unwrap()),
            "即办件"
        );
        assert_eq!(
            available(&accepted, Role::Handler, Some(one), &calendar, now),
            [Action::RequestCorrection, Action::Reject, Action::Approve]
        );

        let two = Rules {
            levels: 2,
            days: 10,
        };
        let accepted = plan(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            Some(two),
            "".into(),
            &calendar,
            now,
        )
        .unwrap()
        .state;
        let forwarded = plan(
            &accepted,
            Action::Forward,
            Role::Handler,
            Some(two),
            "".into(),
            &calendar,
            now,
        )
        .unwrap();
        assert_eq!(forwarded.villager_note.as_deref(), Some("已转审批"));
        assert_eq!(role_at(forwarded.state.stage, 2), Role::Approver);
    }

    #[test]
    fn a_correction_after_acceptance_stops_the_clock_until_the_materials_are_in() {
        let accepted = step(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            "2026-11-27T02:00:00Z",
        );
        let reviewing = step(
            &accepted,
            Action::Forward,
            Role::Handler,
            "2026-11-27T03:00:00Z",
        );
        // The reviewer asks for more on Monday 30 November; they arrive Friday 4 December.
        let waiting = step(
            &reviewing,
            Action::RequestCorrection,
            Role::Reviewer,
            "2026-11-30T03:00:00Z",
        );
        assert_eq!(waiting.status, SubmissionStatus::NeedsCorrection);
        assert!(waiting.suspended_at.is_some());
        let resumed = step(
            &waiting,
            Action::CorrectionReceived,
            Role::Reviewer,
            "2026-12-04T03:00:00Z",
        );
        assert_eq!(
            (resumed.status, resumed.stage),
            (SubmissionStatus::InReview, 2)
        );
        assert_eq!(resumed.suspended_days, 4);
        assert_eq!(
            resumed.due_on,
            Some("2026-12-24".parse().unwrap()),
            "18 Dec + 4 working days"
        );
    }

    #[test]
    fn a_correction_before_acceptance_does_not_start_the_clock() {
        let waiting = step(
            &ReviewState::received(),
            Action::RequestCorrection,
            Role::Handler,
            "2026-11-27T02:00:00Z",
        );
        assert_eq!(waiting.suspended_at, None);
        let back = step(
            &waiting,
            Action::CorrectionReceived,
            Role::Handler,
            "2026-12-01T02:00:00Z",
        );
        assert_eq!(back.status, SubmissionStatus::Received);
        assert_eq!(back.due_on, None);
    }

    #[test]
    fn reasons_are_required_where_the_villager_must_hear_one() {
        let refused = plan(
            &ReviewState::received(),
            Action::Reject,
            Role::Handler,
            Some(THREE),
            "  ".into(),
            &WorkingCalendar::default(),
            at("2026-11-27T02:00:00Z"),
        );
        assert_eq!(refused, Err(Refusal::CommentRequired("reject")));
        let rejected = plan(
            &ReviewState::received(),
            Action::Reject,
            Role::Handler,
            Some(THREE),
            "不属于本乡镇".into(),
            &WorkingCalendar::default(),
            at("2026-11-27T02:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            rejected.villager_note.as_deref(),
            Some("不予受理：不属于本乡镇")
        );
    }

    fn material(name: &str) -> Material {
        Material {
            name: name.into(),
            original: true,
            count: 1,
            note: None,
        }
    }

    #[test]
    fn a_correction_names_the_items_materials_and_the_reason() {
        let listed = [
            material("居民身份证"),
            material("居民户口簿"),
            material("银行卡"),
        ];
        // Ticked in any order and twice: the guide's order, once each, names from the list.
        let named = correction_materials(&listed, &[2, 1, 2]).unwrap();
        assert_eq!(
            named,
            [
                CorrectionMaterial {
                    index: 1,
                    name: "居民户口簿".into()
                },
                CorrectionMaterial {
                    index: 2,
                    name: "银行卡".into()
                },
            ]
        );
        assert_eq!(
            correction_materials(&listed, &[0, 3]),
            Err(Refusal::NoSuchMaterial(4))
        );
        let many: Vec<Material> = (0..=MAX_CORRECTION_MATERIALS)
            .map(|n| material(&format!("材料{n}")))
            .collect();
        let all: Vec<u16> = (0..many.len() as u16).collect();
        assert_eq!(
            correction_materials(&many, &all),
            Err(Refusal::TooManyMaterials)
        );
        assert_eq!(
            correction_materials(&many, &all[..MAX_CORRECTION_MATERIALS])
                .unwrap()
                .len(),
            MAX_CORRECTION_MATERIALS
        );

        let planned = plan(
            &ReviewState::received(),
            Action::RequestCorrection,
            Role::Handler,
            Some(THREE),
            Said {
                comment: " 户口簿页面模糊 ",
                materials: &named,
            },
            &WorkingCalendar::default(),
            at("2026-11-27T02:00:00Z"),
        )
        .unwrap();
        assert_eq!(planned.state.status, SubmissionStatus::NeedsCorrection);
        assert_eq!(
            planned.villager_note.as_deref(),
            Some("请补正以下材料：居民户口簿、银行卡。原因：户口簿页面模糊")
        );
        // Without materials the note is what it always was; with another action, refused.
        assert_eq!(
            correction_note(&[], "补交收入证明"),
            "请补正材料：补交收入证明"
        );
        assert_eq!(
            plan(
                &ReviewState::received(),
                Action::Reject,
                Role::Handler,
                Some(THREE),
                Said {
                    comment: "不符合条件",
                    materials: &named,
                },
                &WorkingCalendar::default(),
                at("2026-11-27T02:00:00Z"),
            ),
            Err(Refusal::MaterialsOnlyForCorrection)
        );
    }

    #[test]
    fn a_return_goes_back_one_level() {
        let accepted = step(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            "2026-11-27T02:00:00Z",
        );
        let reviewing = step(
            &accepted,
            Action::Forward,
            Role::Handler,
            "2026-11-27T03:00:00Z",
        );
        let back = step(
            &reviewing,
            Action::Return,
            Role::Reviewer,
            "2026-11-27T04:00:00Z",
        );
        assert_eq!((back.status, back.stage), (SubmissionStatus::Accepted, 1));
    }

    #[test]
    fn ratings_are_not_reviewed() {
        assert_eq!(
            KindRules::default().for_submission(SubmissionKind::Evaluation, None),
            None
        );
        let refused = plan(
            &ReviewState::received(),
            Action::Accept,
            Role::Handler,
            None,
            "".into(),
            &WorkingCalendar::default(),
            at("2026-11-27T02:00:00Z"),
        );
        assert_eq!(refused, Err(Refusal::NotReviewed));
    }
}
