//! A real headless Chromium for page tests, driven over WebDriver (ChromeDriver, started by
//! `tests/run`, which exports its address as `WALLETPAY_WEBDRIVER`). Each [`Browser`] is a
//! fresh Chromium with an empty profile, the browser's console recorded, and a folder for
//! its screenshots under the test output directory.

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Where page tests save their screenshots: `$WALLETPAY_TEST_OUTPUT/<test>/`, by default
/// `<target dir>/test-output/<test>/`.
pub fn output_dir(test: &str) -> PathBuf {
    let root = std::env::var_os("WALLETPAY_TEST_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("test-output")
        });
    let dir = root.join(test);
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

fn webdriver() -> Option<String> {
    match std::env::var("WALLETPAY_WEBDRIVER") {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("WALLETPAY_REQUIRE_STANDINS").as_deref() == Ok("1") {
                panic!("WALLETPAY_WEBDRIVER is not set but WALLETPAY_REQUIRE_STANDINS=1: ChromeDriver must run");
            }
            eprintln!("skipped: WALLETPAY_WEBDRIVER is not set (run tests/run for the page tests)");
            None
        }
    }
}

pub struct Browser {
    pub client: Client,
    profile: PathBuf,
    shots: PathBuf,
    step: u32,
}

/// ChromeDriver's console log (`/session/{id}/se/log`, not in W3C WebDriver).
#[derive(Debug)]
struct ConsoleLog;

impl WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

impl Browser {
    /// A new headless Chromium at `width` x `height` whose `Accept-Language` is
    /// `languages`, or None when no ChromeDriver runs (plain `cargo test`).
    pub async fn start(test: &str, width: u32, height: u32, languages: &str) -> Option<Browser> {
        Self::start_with(test, width, height, languages, &[]).await
    }

    /// Like [`Browser::start`], with more Chromium switches (`--blink-settings=scriptEnabled=false`).
    pub async fn start_with(
        test: &str,
        width: u32,
        height: u32,
        languages: &str,
        extra_args: &[&str],
    ) -> Option<Browser> {
        let url = webdriver()?;
        let profile = std::env::temp_dir().join(crate::unique("chromium-profile"));
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": std::env::var("WALLETPAY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
                "prefs": {"intl.accept_languages": languages},
            },
        });
        let mut caps = caps;
        if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
            args.extend(extra_args.iter().map(|a| json!(a)));
        }
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("ChromeDriver starts a Chromium");
        // The window's inner size is the viewport the page lays out for.
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        Some(Browser {
            client,
            profile,
            shots: output_dir(test),
            step: 0,
        })
    }

    /// Saves a screenshot of the viewport as `<nn>-<name>.png`.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        self.step += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// The console entries logged since the last call.
    pub async fn console(&self) -> Vec<Value> {
        match self
            .client
            .issue_cmd(ConsoleLog)
            .await
            .expect("console log")
        {
            Value::Array(entries) => entries,
            other => panic!("a console log is a list, not {other}"),
        }
    }

    /// Fails if the page logged an error or a warning (a CSP violation, a failed load, a
    /// script error) from a URL containing `under` since the last call.
    pub async fn assert_clean_console(&self, under: &str) {
        let bad: Vec<Value> = self
            .console()
            .await
            .into_iter()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(under)))
            .collect();
        assert!(bad.is_empty(), "console errors: {bad:#?}");
    }

    /// Waits up to `secs` for an element matching `css` to be displayed.
    pub async fn wait_for(&self, css: &str, secs: u64) -> fantoccini::elements::Element {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return e;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                let body = self.client.find(Locator::Css("body")).await.ok();
                let text = match body {
                    Some(b) => b.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!(
                    "{css} did not appear on {}; the page says: {text}",
                    self.client
                        .current_url()
                        .await
                        .map(|u| u.to_string())
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `secs` for the page's URL to start with `prefix`.
    pub async fn wait_for_url(&self, prefix: &str, secs: u64) -> url::Url {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let url = self.client.current_url().await.expect("current url");
            if url.as_str().starts_with(prefix) {
                return url;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still at {url}, not at {prefix}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The top edge of an element in the viewport, in CSS pixels.
    pub async fn top_of(&self, css: &str) -> f64 {
        self.client
            .execute(
                "return document.querySelector(arguments[0]).getBoundingClientRect().top",
                vec![json!(css)],
            )
            .await
            .expect("layout")
            .as_f64()
            .expect("a number")
    }

    /// Ends the Chromium and removes its profile.
    pub async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
