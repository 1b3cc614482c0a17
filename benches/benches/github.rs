//! Benchmarks of the GitHub forge (the seed plan's item 1.4): decoding pull-request lists of
//! 10/100/1000 items (`broadcast::forge::github::decode_pull_list`, the forge's own decoding),
//! base64 of 1/10/100 KiB with the `base64` crate (what the forge uses for the git
//! `Authorization: Basic` header; GitHub's contents API sends file bodies the same way), and
//! 1/5/10/20 concurrent REST calls (`find_pull`) against a loopback HTTP server.
//!
//! Allocations per op are recorded for the single-threaded benchmarks. The loopback server
//! answers at once, so the concurrent calls measure the client's own cost (TLS-free HTTP/1.1,
//! JSON decoding, connection reuse) on this machine's cores, not network latency.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use broadcast::forge::github::{
    GitHubForge, GitHubOptions, Pacing, RetryPolicy, Token, decode_pull_list,
};
use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_profiling::CountingAllocator;
use broadcast_profiling::criterion::PprofProfiler;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

const HEAD: &str = "chore/sync-files-default";

/// One pull-request object as `GET /repos/{owner}/{repo}/pulls` returns it: the fields the
/// forge reads plus the usual ones it ignores (REST "List pull requests", trimmed).
fn pull_json(number: u64, head: &str) -> String {
    format!(
        r#"{{"url":"https://api.github.com/repos/acme/api/pulls/{number}","id":{id},"node_id":"PR_kwDOAAAB{number}","html_url":"https://github.com/acme/api/pull/{number}","diff_url":"https://github.com/acme/api/pull/{number}.diff","number":{number},"state":"open","locked":false,"title":"[Sync] Update project files from acme/template","user":{{"login":"sync-bot","id":7,"type":"User","site_admin":false}},"body":"Synced from acme/template at 6dcb09b5.\n\n<!-- broadcast:meta {{\"group\":\"default\"}} -->","labels":[{{"id":1,"name":"sync","color":"ededed","default":false}},{{"id":2,"name":"automated","color":"0e8a16","default":false}}],"created_at":"2026-01-31T12:00:00Z","updated_at":"2026-01-31T12:05:00Z","closed_at":null,"merged_at":null,"merge_commit_sha":null,"assignees":[{{"login":"alice","id":11}}],"requested_reviewers":[{{"login":"bob","id":12}}],"requested_teams":[],"head":{{"label":"acme:{head}","ref":"{head}","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}},"base":{{"label":"acme:main","ref":"main","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}},"draft":false}}"#,
        id = 1000 + number
    )
}

fn pull_list(n: u64) -> String {
    let items: Vec<String> = (1..=n)
        .map(|i| pull_json(i, &format!("{HEAD}-{i}")))
        .collect();
    format!("[{}]", items.join(","))
}

/// A loopback HTTP/1.1 server answering every request with `body` (keep-alive, one thread per
/// connection). Returns its base URL; the threads live until the process exits.
fn serve(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let response = Arc::new(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-RateLimit-Limit: 5000\r\nX-RateLimit-Remaining: 4999\r\nX-RateLimit-Reset: 4102444800\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let response = Arc::clone(&response);
            std::thread::spawn(move || answer(stream, &response));
        }
    });
    format!("http://{addr}")
}

/// Answers GET requests on one connection until the client closes it.
fn answer(stream: TcpStream, response: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        // Request line and headers up to the blank line; GET carries no body.
        let mut saw_request = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => saw_request = true,
            }
        }
        if saw_request && writer.write_all(response).is_err() {
            return;
        }
    }
}

fn forge(base: &str) -> GitHubForge {
    let mut o = GitHubOptions::new(Token::new("ghp_benchmarktoken0123456789abcdefghijkl"));
    o.api_url = base.to_owned();
    o.web_url = base.to_owned();
    o.write_pacing = Pacing::unlimited();
    o.retry = RetryPolicy::default();
    o.timeout = Duration::from_secs(30);
    GitHubForge::new(o).expect("loopback urls are valid")
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("github");
    for n in [10u64, 100, 1000] {
        let body = pull_list(n);
        assert_eq!(
            decode_pull_list(&body).expect("valid list").len(),
            n as usize
        );
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("decode_pulls", n), &body, |b, body| {
            b.iter(|| decode_pull_list(black_box(body)).map(|v| v.len()))
        });
        alloc::record(
            &format!("github/decode_pulls/{n}"),
            if n >= 1000 { 5 } else { 50 },
            counting_allocator,
            || {
                black_box(decode_pull_list(&body).map(|v| v.len()).ok());
            },
        );
    }
    g.finish();
}

fn base64(c: &mut Criterion) {
    let mut g = c.benchmark_group("github");
    for kib in [1usize, 10, 100] {
        let raw: Vec<u8> = (0..kib * 1024).map(|i| (i * 31 % 251) as u8).collect();
        let encoded = STANDARD.encode(&raw);
        assert_eq!(STANDARD.decode(&encoded).expect("round trip"), raw);
        let label = format!("{kib}KiB");
        g.throughput(Throughput::Bytes(raw.len() as u64));
        g.bench_with_input(BenchmarkId::new("base64_encode", &label), &raw, |b, raw| {
            b.iter(|| STANDARD.encode(black_box(raw)).len())
        });
        alloc::record(
            &format!("github/base64_encode/{label}"),
            100,
            counting_allocator,
            || {
                black_box(STANDARD.encode(&raw).len());
            },
        );
        g.bench_with_input(
            BenchmarkId::new("base64_decode", &label),
            &encoded,
            |b, encoded| b.iter(|| STANDARD.decode(black_box(encoded)).map(|v| v.len())),
        );
        alloc::record(
            &format!("github/base64_decode/{label}"),
            100,
            counting_allocator,
            || {
                black_box(STANDARD.decode(&encoded).map(|v| v.len()).ok());
            },
        );
    }
    g.finish();
}

fn concurrent(c: &mut Criterion) {
    let base = serve(format!("[{}]", pull_json(7, HEAD)));
    let forge = forge(&base);
    let found = forge
        .find_pull("acme", "api", HEAD)
        .expect("loopback answers");
    assert_eq!(found.map(|p| p.number), Some(7));
    let mut g = c.benchmark_group("github");
    for n in [1usize, 5, 10, 20] {
        // One iteration: n calls at once, one per thread; the threads are started once per
        // sample, so the time is n concurrent calls, not thread start-up.
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("concurrent_calls", n), |b| {
            b.iter_custom(|iters| {
                let barrier = std::sync::Barrier::new(n + 1);
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            barrier.wait();
                            for _ in 0..iters {
                                let pr = forge.find_pull("acme", "api", HEAD).expect("answer");
                                black_box(pr);
                            }
                        });
                    }
                    barrier.wait();
                    // The scope joins every thread before returning.
                    Instant::now()
                })
                .elapsed()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // `-- --profile-time 5 <filter>` writes flamegraph.svg and cpu.pb per benchmark.
    config = Criterion::default().with_profiler(PprofProfiler::new(997));
    targets = decode, base64, concurrent
}
criterion_main!(benches);
