//! The rate-limit preflight against `GET /rate_limit` on the fake GitHub: a paced run that spans
//! several primary windows is allowed when each window holds its share, and a run whose share of
//! the current window does not fit is refused with the numbers.

use broadcast::forge::Forge;
use broadcast::forge::github::{GitHubForge, Pacing};
use broadcast::plan::PrMetadata;
use httpmock::Method::GET;
use httpmock::MockServer;
use serde_json::json;

use crate::Result;
use crate::fixtures::{FakeClock, T0_EPOCH_SECS, options};

/// A forge with GitHub's default pacing (1 s apart, 500 an hour) whose `GET /rate_limit` reports
/// `remaining` of `limit`, resetting `reset_in` seconds after the fake clock's start.
fn forge_with_budget(
    server: &MockServer,
    remaining: u64,
    limit: u64,
    reset_in: u64,
) -> GitHubForge {
    let reset = T0_EPOCH_SECS + reset_in;
    server.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        then.status(200).json_body(json!({
            "resources": {"core": {"limit": limit, "used": limit - remaining, "remaining": remaining, "reset": reset}},
            "rate": {"limit": limit, "used": limit - remaining, "remaining": remaining, "reset": reset}
        }));
    });
    let mut o = options(&server.base_url(), FakeClock::new());
    o.write_pacing = Pacing::default();
    GitHubForge::new(o).expect("valid test urls")
}

/// The preflight of 1,000 new targets with labels: 2 writes each (create, labels), 2,001 reads.
fn preflight_thousand_new_targets(f: &GitHubForge) -> anyhow::Result<()> {
    let pr = PrMetadata {
        labels: vec!["sync".into()],
        ..PrMetadata::default()
    };
    f.preflight_targets("g", &vec![&pr; 1000])
}

#[test]
fn a_paced_run_over_several_windows_is_allowed() -> Result {
    let server = MockServer::start();
    let f = forge_with_budget(&server, 5000, 5000, 3600);
    // 4,001 requests > 80 % of 5,000, but 2,000 writes at 500 an hour take over three hours:
    // the primary budget resets three times on the way.
    preflight_thousand_new_targets(&f)?;
    Ok(())
}

#[test]
fn a_run_whose_current_window_share_does_not_fit_is_refused() -> Result {
    let server = MockServer::start();
    let f = forge_with_budget(&server, 100, 5000, 3500);
    let e = preflight_thousand_new_targets(&f).expect_err("refused");
    let msg = format!("{e:#}");
    for number in ["4001", "80", "100", "3500"] {
        assert!(msg.contains(number), "{number} missing in: {msg}");
    }
    Ok(())
}

#[test]
fn a_run_that_fits_no_window_is_refused() -> Result {
    let server = MockServer::start();
    // A 1,000-request limit cannot hold an hour of this run (1,000 writes and their reads).
    let f = forge_with_budget(&server, 1000, 1000, 3600);
    let e = preflight_thousand_new_targets(&f).expect_err("refused");
    assert!(format!("{e:#}").contains("1000"), "{e:#}");
    Ok(())
}
