//! Built against `lfhost:plugin@1.0.0` (see wit/next.wit): the host must
//! refuse it at load, naming that version and its own.

#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({ world: "stage-plugin", path: "wit" });

    struct NextContract;

    impl exports::lfhost::plugin::stage::Guest for NextContract {
        fn describe() -> String {
            "next-contract".to_string()
        }
    }

    export!(NextContract);
}
