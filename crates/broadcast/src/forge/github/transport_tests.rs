//! Tests of the REST transport: Link pagination and write pacing.

use super::*;
use std::time::SystemTime;

#[test]
fn next_link_finds_rel_next() {
    let check = |input: &str, want: Option<&str>| {
        assert_eq!(next_link(input).as_deref(), want, "{input}");
    };
    check(
        r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#,
        Some("https://api.github.com/repositories/1/pulls?page=2"),
    );
    check(
        r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=3>; rel="next""#,
        Some("https://x/p?page=3"),
    );
    check(r#"<https://x/p?page=1>; rel="first""#, None);
    check("", None);
    check("garbage", None);
}

#[test]
fn pacer_spaces_writes_and_caps_the_hour() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut p = Pacer::new(Pacing {
        interval: Duration::from_secs(1),
        per_hour: 3,
        ..Pacing::default()
    });
    let slots: Vec<u64> = (0..5)
        .map(|_| {
            p.reserve(t0)
                .duration_since(t0)
                .expect("slot after t0")
                .as_secs()
        })
        .collect();
    // 1 s spacing, then the 4th write waits for the first to leave the hour window.
    assert_eq!(slots, vec![0, 1, 2, 3600, 3601]);

    let mut unlimited = Pacer::new(Pacing::unlimited());
    assert_eq!(unlimited.reserve(t0), t0);
    assert_eq!(unlimited.reserve(t0), t0);
}

#[test]
fn one_shared_pacer_spaces_concurrent_writes_by_the_interval() {
    // Eight threads reserve at the same instant through one shared pacer (as the worker
    // threads of a run do): every slot is at least the interval after the previous one.
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let interval = Duration::from_millis(1000);
    let pacer = std::sync::Arc::new(Mutex::new(Pacer::new(Pacing {
        interval,
        per_hour: 0,
        ..Pacing::default()
    })));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let pacer = pacer.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| pacer.lock().expect("test mutex").reserve(t0))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut slots: Vec<SystemTime> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    slots.sort();
    assert_eq!(slots.len(), 40);
    assert_eq!(slots[0], t0);
    for pair in slots.windows(2) {
        let gap = pair[1].duration_since(pair[0]).expect("sorted");
        assert!(gap >= interval, "{gap:?}");
    }
}
