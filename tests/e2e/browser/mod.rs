//! The web UI in a real browser: Debian's chromium driven through chromedriver with
//! `fantoccini`, at a phone's size and a desktop's.
//!
//! Each test starts its own chromedriver on a free port ([`Driver`], killed with its browsers
//! when dropped); each size gets a fresh browser session with its own profile ([`Browser`]).
//! [`check`] runs one test body at one size and, when it fails, saves a screenshot to
//! `$CARGO_TARGET_DIR/browser-failures/<test>-<size>.png` before failing the test.
//! Without chromedriver the tests say so and pass, unless `CRM_REQUIRE_BROWSER=1`.
mod access;
mod axe;
mod driver;
mod flows;
mod keyboard;
mod transfer;

pub use driver::Driver;
use driver::{program, required};

use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, KeyAction, KeyActions},
    elements::Element,
    key::Key,
};
use futures::FutureExt;
use serde_json::{Value, json};
use std::{
    panic::AssertUnwindSafe,
    path::PathBuf,
    time::{Duration, Instant},
};

/// How long a page gets to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long one test body may take at one size before it counts as hung.
const LIMIT: Duration = Duration::from_secs(180);

/// The window sizes every page must work at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 390 × 844, with mobile emulation (touch, device pixel ratio 3).
    Phone,
    /// 1280 × 900.
    Desktop,
}

/// Both sizes, phone first.
pub const SIZES: [Size; 2] = [Size::Phone, Size::Desktop];

impl Size {
    pub fn name(self) -> &'static str {
        match self {
            Size::Phone => "phone",
            Size::Desktop => "desktop",
        }
    }

    pub fn dims(self) -> (u32, u32) {
        match self {
            Size::Phone => (390, 844),
            Size::Desktop => (1280, 900),
        }
    }
}

/// One browser session at one size, on the stack at `base`.
pub struct Browser {
    pub client: Client,
    pub size: Size,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &Driver, size: Size, base: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (width, height) = size.dims();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--lang=en-US",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={width},{height}"));
        let binary = program("chromium").unwrap_or_else(|| "/usr/bin/chromium".into());
        let mut options = json!({
            "binary": binary,
            "args": args,
            "prefs": {"intl.accept_languages": "en-US,en"},
        });
        if size == Size::Phone {
            options["mobileEmulation"] = json!({"deviceMetrics":
                {"width": width, "height": height, "pixelRatio": 3.0, "touch": true}});
        }
        let Value::Object(capabilities) =
            json!({"browserName": "chrome", "goog:chromeOptions": options})
        else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("no chromium session: {e}"));
        Browser {
            client,
            size,
            base: base.to_owned(),
            _profile: profile,
        }
    }

    /// Opens `path` of the stack.
    pub async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits until the page shown is `path`.
    pub async fn at(&self, path: &str) {
        self.until(&format!("the page {path}"), async || {
            self.path().await == path
        })
        .await;
    }

    /// The element matching `css`, waiting up to [`WAIT`] for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("{css} not found on {}: {e}", self.path().await),
        }
    }

    /// Whether an element matches `css` now.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Replaces the value of the input `css` by typing `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The text of `css` if it is on the page and shown, read in one step (so an element that
    /// htmx swaps out meanwhile is never half-read).
    pub async fn shown_text(&self, css: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector({});\
             return e && e.checkVisibility() ? e.innerText : null;",
            json!(css)
        );
        self.js(&script).await.as_str().map(str::to_owned)
    }

    /// The current value of the input `css`.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Runs `script` in the page and returns what the promise it returns resolves to.
    pub async fn js_async(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];\
             (async () => {{ {script} }})().then(done, e => done(String(e)));"
        );
        self.client
            .execute_async(&wrapped, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `ready` until it holds, for up to [`WAIT`].
    pub async fn until(&self, what: &str, mut ready: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !ready().await {
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what} (on {})",
                self.client.current_url().await.unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `keys` on the keyboard, into whatever has the focus.
    pub async fn press(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// Presses one special key.
    pub async fn key(&self, key: Key) {
        self.press(&key.to_string()).await;
    }

    /// The focused element: `#id`, else its tag with its name and link, as `a[href=/]`.
    pub async fn focused(&self) -> String {
        let described = self
            .js("const e = document.activeElement; if (!e) return '';\
                 if (e.id) return '#' + e.id;\
                 let d = e.tagName.toLowerCase();\
                 if (e.getAttribute('name')) d += '[name=' + e.getAttribute('name') + ']';\
                 if (e.getAttribute('href')) d += '[href=' + e.getAttribute('href') + ']';\
                 return d;")
            .await;
        described.as_str().unwrap_or_default().to_owned()
    }

    /// Signs in through the sign-in page and waits for "my day".
    pub async fn sign_in(&self, login: &str, password: &str) {
        self.go("/login").await;
        self.fill("#login_name", login).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
        self.at("/").await;
        self.find("#card-reminders").await;
    }

    /// Saves a screenshot of the page shown; returns where.
    async fn screenshot(&self, test: &str) -> Option<PathBuf> {
        let png = self.client.screenshot().await.ok()?;
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("browser-failures");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{test}-{}.png", self.size.name()));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }
}

/// Runs `body` in a fresh browser at `size` on the stack at `base`. When it fails (a panic, or
/// no end within [`LIMIT`]) the page is saved as a screenshot, then the test fails; the browser
/// session is closed either way.
pub async fn check(
    driver: &Driver,
    test: &str,
    size: Size,
    base: &str,
    body: impl AsyncFnOnce(&Browser),
) {
    let started = Instant::now();
    let browser = Browser::open(driver, size, base).await;
    let outcome = AssertUnwindSafe(tokio::time::timeout(LIMIT, body(&browser)))
        .catch_unwind()
        .await;
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        match browser.screenshot(test).await {
            Some(path) => eprintln!(
                "browser test {test} failed at {}: screenshot {}",
                size.name(),
                path.display()
            ),
            None => eprintln!(
                "browser test {test} failed at {}: no screenshot",
                size.name()
            ),
        }
    }
    let _ = browser.client.clone().close().await;
    match outcome {
        Ok(Ok(())) => println!(
            "browser test {test} at {} passed in {:.1} s",
            size.name(),
            started.elapsed().as_secs_f64()
        ),
        Ok(Err(_)) => panic!("browser test {test} at {} took over {LIMIT:?}", size.name()),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The text of `key` in the UI's catalog of `lang` ("en" or "zh-CN").
pub fn catalog(lang: &str, key: &str) -> String {
    let text = match lang {
        "en" => include_str!("../../../gateway/web/i18n/en.txt"),
        "zh-CN" => include_str!("../../../gateway/web/i18n/zh-CN.txt"),
        other => panic!("no catalog {other}"),
    };
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| panic!("{key} is not in the {lang} catalog"))
}

/// The id of the administrator's home unit (where test users are created).
pub async fn root_unit(http: &crate::harness::Http) -> String {
    let me = http.call("GET", "/api/v1/users/me", None).await;
    me.json["unit"].as_str().unwrap().to_owned()
}

/// Creates a customer over REST; returns its id.
pub async fn create_customer(http: &crate::harness::Http, body: Value) -> String {
    let created = http.call("POST", "/api/v1/customers", Some(body)).await;
    assert_eq!(created.status, 200, "{}", created.text);
    created.json["id"].as_str().unwrap().to_owned()
}

/// The customers named exactly `name`, over REST.
pub async fn customers_named(http: &crate::harness::Http, name: &str) -> Vec<serde_json::Value> {
    let filter = format!("display_name = \"{name}\"");
    let query = percent_encoded(&filter);
    let listed = http
        .call("GET", &format!("/api/v1/customers?filter={query}"), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json["customers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
