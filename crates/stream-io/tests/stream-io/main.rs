//! Integration tests for `broadcast-stream-io`: chunk-size independence (property tests),
//! concurrent atomic replacement, and JSON array streaming of generated input.

use std::io::Write;

use broadcast_stream_io::{
    JsonArrayStream, LiteralReplace, RegexReplace, StreamProcessor, atomic_write,
    atomic_write_bytes, transform_file,
};
use proptest::prelude::*;

mod fuzz_props;

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn stream<T: broadcast_stream_io::ChunkTransform>(chunk: usize, input: &[u8], t: &T) -> Vec<u8> {
    let mut out = Vec::new();
    StreamProcessor::new(chunk)
        .process(input, &mut out, t)
        .expect("in-memory streams cannot fail");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn literal_is_chunk_size_independent(
        input in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n'), any::<u8>()], 0..600),
        needle in "[ab]{1,5}",
        replacement in "[xyz]{0,7}",
        chunk in 1usize..64,
    ) {
        let t = LiteralReplace::new(&needle, replacement.as_bytes());
        let whole = t.replace_all(&input);
        prop_assert_eq!(stream(chunk, &input, &t), whole);
    }

    #[test]
    fn regex_is_chunk_size_independent(
        input in "[ab1 \néß]{0,400}",
        chunk in 1usize..48,
    ) {
        let re = regex::bytes::Regex::new(r"\bab{1,6}\b|[0-9]{1,3}|ß{1,2}").expect("valid regex");
        let t = RegexReplace::from_regex(re.clone(), "<$0>", 12);
        let reference = re.replace_all(input.as_bytes(), &b"<$0>"[..]).into_owned();
        prop_assert_eq!(&t.replace_all(input.as_bytes()), &reference);
        prop_assert_eq!(stream(chunk, input.as_bytes(), &t), reference);
    }

    #[test]
    fn json_array_round_trips(
        items in proptest::collection::vec("[a-z\"\\\\\\]\\[{},é ]{0,12}", 0..50),
        chunk_ws in "[ \n]{0,3}",
    ) {
        let json = format!("[{}]", items.iter()
            .map(|s| serde_json::to_string(s).expect("strings serialize"))
            .collect::<Vec<_>>()
            .join(&format!(",{chunk_ws}")));
        let back: Vec<String> = JsonArrayStream::new(json.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, items);
    }
}

/// Transforming fixed chunks independently (what a naive streaming replace does) misses a match
/// that spans a chunk boundary; the carry-over does not.
#[test]
fn boundary_spanning_match_is_replaced() {
    let input = b"0123456template-repo89";
    let t = LiteralReplace::new("template-repo", "X");
    let naive: Vec<u8> = input.chunks(10).flat_map(|c| t.replace_all(c)).collect();
    assert_eq!(
        naive,
        input.to_vec(),
        "the naive version misses the split match"
    );
    assert_eq!(stream(10, input, &t), b"0123456X89");
}

#[test]
fn transform_file_in_place() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.txt");
    let line = b"owner/template-repo uses template-repo\n";
    atomic_write(&path, |w| {
        for _ in 0..10_000 {
            w.write_all(line)?;
        }
        Ok::<_, std::io::Error>(())
    })?;
    let t = LiteralReplace::new("template-repo", "service-a");
    let stats = transform_file(&StreamProcessor::new(4096 + 3), &path, &path, &t)?;
    let got = std::fs::read(&path)?;
    assert_eq!(got, b"owner/service-a uses service-a\n".repeat(10_000));
    assert_eq!(stats.bytes_in, (line.len() * 10_000) as u64);
    Ok(())
}

#[test]
fn failed_transform_leaves_original() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f.txt");
    std::fs::write(&path, b"original")?;
    let missing = dir.path().join("missing.txt");
    let t = LiteralReplace::new("o", "0");
    assert!(transform_file(&StreamProcessor::default(), &missing, &path, &t).is_err());
    assert_eq!(std::fs::read(&path)?, b"original");
    Ok(())
}

#[test]
fn concurrent_atomic_writers_and_readers() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shared.txt");
    atomic_write_bytes(&path, &[b'0'; 4096])?;
    std::thread::scope(|s| -> Result {
        let writers: Vec<_> = (0..4u8)
            .map(|t| {
                let path = path.clone();
                s.spawn(move || {
                    for _ in 0..20 {
                        atomic_write_bytes(&path, &[b'a' + t; 4096])
                            .expect("atomic write succeeds");
                    }
                })
            })
            .collect();
        let reader = s.spawn(|| -> std::io::Result<()> {
            for _ in 0..200 {
                let content = std::fs::read(&path)?;
                assert_eq!(content.len(), 4096, "a reader saw a partial file");
                assert!(
                    content.iter().all(|&b| b == content[0]),
                    "a reader saw mixed content"
                );
            }
            Ok(())
        });
        for w in writers {
            w.join().map_err(|_| "writer thread panicked")?;
        }
        reader.join().map_err(|_| "reader thread panicked")??;
        Ok(())
    })?;
    let names: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    assert_eq!(names.len(), 1, "temporary files left behind");
    Ok(())
}

#[test]
fn json_large_array_streams() -> Result {
    #[derive(serde::Deserialize)]
    struct Item {
        id: u64,
        name: String,
    }
    let mut json = Vec::from(&b"["[..]);
    for i in 0..50_000u64 {
        if i > 0 {
            json.push(b',');
        }
        write!(json, r#"{{"id":{i},"name":"repo-{i}","tags":["a","b"]}}"#)?;
    }
    json.push(b']');
    let mut count = 0u64;
    for item in JsonArrayStream::<Item, _>::new(&json[..]) {
        let item = item?;
        assert_eq!(item.id, count);
        assert_eq!(item.name, format!("repo-{count}"));
        count += 1;
    }
    assert_eq!(count, 50_000);
    Ok(())
}
