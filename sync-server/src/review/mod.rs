//! The county's review of what villagers hand in: the chain of levels and what each action
//! does ([`workflow`]), and the working-day calendar deadlines are counted in ([`calendar`]).
//! Pure logic: the store persists it, the staff pages drive it.

pub mod calendar;
pub mod workflow;
