//! Keyboard only: sign in, reach the customers list, open the create form, fill and submit it,
//! with nothing but keys; the focus goes where a keyboard user expects and is visible.
use super::{Browser, Driver, SIZES, check, customers_named};
use crate::harness::{ADMIN_PASSWORD, Backend, Suite};
use fantoccini::key::Key;

const SKIP_LINK: &str = "a[href=#main]";

/// Presses Tab until `target` has the focus (at most `limit` times); returns the stops passed.
async fn tab_to(b: &Browser, target: &str, limit: usize) -> Vec<String> {
    let mut stops = Vec::new();
    for _ in 0..limit {
        b.key(Key::Tab).await;
        let focused = b.focused().await;
        stops.push(focused.clone());
        if focused == target {
            return stops;
        }
    }
    panic!("{target} not reached in {limit} tabs: {stops:?}");
}

/// The focused element shows that it is: it matches `:focus-visible` and has an outline.
async fn focus_is_visible(b: &Browser) {
    let shown = b
        .js("const e = document.activeElement;\
             const r = e.getBoundingClientRect();\
             return e.matches(':focus-visible') && getComputedStyle(e).outlineStyle !== 'none'\
               && r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0\
               && r.right <= window.innerWidth;")
        .await;
    assert_eq!(shown, true, "focus not visible on {}", b.focused().await);
}

/// On a fresh page, the first Tab stop is the skip link; Enter on it moves the focus to the
/// main content.
async fn skip_to_main(b: &Browser) {
    b.key(Key::Tab).await;
    assert_eq!(
        b.focused().await,
        SKIP_LINK,
        "the skip link is the first stop"
    );
    focus_is_visible(b).await;
    b.key(Key::Enter).await;
    b.until("the focus on the main content", async || {
        b.focused().await == "#main"
    })
    .await;
}

#[tokio::test]
async fn browser_keyboard_only_sign_in_and_create() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    for size in SIZES {
        let name = format!("Keyboard Kim {}", size.name());
        check(&driver, "keyboard", size, &suite.gateway(), async |b| {
            b.go("/login").await;
            assert_eq!(
                b.focused().await,
                "#login_name",
                "the name field has the focus"
            );
            b.press("admin").await;
            b.key(Key::Tab).await;
            assert_eq!(b.focused().await, "#password");
            b.press(ADMIN_PASSWORD).await;
            b.key(Key::Enter).await;
            b.at("/").await;
            b.find("#card-reminders").await;

            // From the top of "my day": the skip link, the brand, then the menu.
            let stops = tab_to(b, "a[href=/customers]", 6).await;
            assert_eq!(stops[0], SKIP_LINK, "{stops:?}");
            focus_is_visible(b).await;
            b.key(Key::Enter).await;
            b.at("/customers").await;

            skip_to_main(b).await;
            tab_to(b, "#new-customer", 8).await;
            focus_is_visible(b).await;
            b.key(Key::Enter).await;
            b.at("/customers/new").await;

            skip_to_main(b).await;
            // The kind is one stop (a radio group), then the name.
            b.key(Key::Tab).await;
            assert_eq!(b.focused().await, "input[name=kind]");
            b.key(Key::Tab).await;
            assert_eq!(b.focused().await, "#display_name");
            focus_is_visible(b).await;
            b.press(&name).await;
            b.key(Key::Tab).await;
            assert_eq!(b.focused().await, "#email");
            b.press("kim@example.com").await;
            b.key(Key::Tab).await;
            assert_eq!(b.focused().await, "#phone");
            b.press("+86 139 1234 5678").await;
            // Enter in a field submits the form with its first button, "create".
            b.key(Key::Enter).await;
            b.until("the new customer's page", async || {
                let path = b.path().await;
                path.starts_with("/customers/") && path != "/customers/new"
            })
            .await;
            assert_eq!(b.text("#customer-name").await, name);
            assert_eq!(b.text(r#"dd[data-field="email"]"#).await, "kim@example.com");
        })
        .await;
        let found = customers_named(&http, &name).await;
        assert_eq!(found.len(), 1, "{size:?}: {found:?}");
        assert_eq!(found[0]["email"], "kim@example.com");
    }
    suite.stop().await;
}
