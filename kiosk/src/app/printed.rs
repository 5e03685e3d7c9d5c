//! What a finished print job means for the page that started it.

use ui::PrintState;

use super::devices::PrintFailure;

/// Printed, or why not: paper-out is told apart, since the villager can then photograph the
/// screen instead of waiting for a technician.
pub fn print_state<T>(result: Result<T, PrintFailure>, what: &str) -> PrintState {
    match result {
        Ok(_) => PrintState::Printed,
        Err(err) => {
            tracing::warn!(%err, "{what} not printed");
            if err.is_paper_out() {
                PrintState::PaperOut
            } else {
                PrintState::Failed
            }
        }
    }
}
