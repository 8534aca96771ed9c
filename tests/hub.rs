//! Loading from the Hugging Face Hub, tested against a local cache laid out as the hub
//! lays it (`$HF_HOME/hub/models--org--name/{refs/main, snapshots/<commit>/…}`).
//! One test in this file, because it sets process-wide environment variables.

mod common;

use polrec::Classifier;

#[test]
fn from_hub_reads_the_local_cache_and_fails_clearly_offline() {
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("hub/models--polrec--tiny-test");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    common::write_tiny_model(&repo.join("snapshots").join(commit), 11, true);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    std::env::set_var("HF_HOME", home.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");

    let from_hub = Classifier::from_hub("polrec/tiny-test").unwrap();
    let from_dir = Classifier::from_dir(repo.join("snapshots").join(commit)).unwrap();
    let s = ["We call for restraint.", "We will contribute troops."];
    let (a, b) = (
        from_hub.classify(&s).unwrap(),
        from_dir.classify(&s).unwrap(),
    );
    assert_eq!(a, b);

    let err = Classifier::from_hub("polrec/not-cached")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("polrec/not-cached") && err.contains("cache"),
        "{err}"
    );
}
