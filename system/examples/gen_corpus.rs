//! Writes a corpus: `cargo run --example gen_corpus -- DIR [MODULES] [SEED]`.
fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("DIR");
    let modules = args.next().map_or(30, |m| m.parse().unwrap());
    let seed = args.next().map_or(1, |s| s.parse().unwrap());
    let spec = somon_system::CorpusSpec {
        modules,
        seed,
        externals: vec!["lodash".into(), "@acme/ui".into()],
        external_fraction: 0.2,
        cycles: 2,
        ..Default::default()
    };
    let corpus = somon_system::generate(std::path::Path::new(&dir), &spec).unwrap();
    println!("{} modules, {} bytes", corpus.modules.len(), corpus.total_bytes);
}
