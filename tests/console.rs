//! The web console in a real browser: headless Chromium driven over
//! WebDriver in front of both services (authentication on). An operator
//! signs in, finds a suspended org on the fleet page, clears its
//! suspension, opens the org's sync health, opens a card and resyncs two
//! of its errors (checked through gRPC: the errors are RESYNCING); a
//! worker's token sees the allocation change it tries refused as a
//! sentence. The pages are laid out at 1 280 and 390 pixels without
//! running off the side, and the sign-in form is reachable by keyboard.
//!
//! With `SYNCGOV_SCREENSHOTS=DIR` set, screenshots of the main pages are
//! written there (the README shows those in docs/console/).

use std::path::PathBuf;

use syncgov_api::syncerrors::v1 as errors;
use syncgov_tests::console::{Bench, OPERATOR, WORKER};
use syncgov_tests::webdriver::{Browser, Driver};
use syncgov_tests::{PATIENCE, eventually};

/// Saves a screenshot when asked to.
async fn shot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    if let Some(dir) = std::env::var_os("SYNCGOV_SCREENSHOTS") {
        let path = PathBuf::from(dir).join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
    }
}

/// Waits until the page shown has an element matching `css`.
async fn wait_for(browser: &Browser, css: &str) {
    let found = eventually(PATIENCE, || async { !browser.all(css).await.is_empty() }).await;
    assert!(
        found,
        "{css} never appeared on {}:\n{}",
        browser.url().await,
        browser.source().await
    );
}

async fn sign_in(browser: &Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}/sign-in")).await;
    let field = browser.find("textarea#token").await;
    browser.type_into(&field, token).await;
    browser
        .click(
            &browser
                .find(r#"button[name="without_token"][value="0"]"#)
                .await,
        )
        .await;
    wait_for(browser, "form.sign-out").await;
}

async fn fits(browser: &Browser, page: &str) {
    let unlabelled = browser.unlabelled_controls().await;
    assert!(
        unlabelled.is_empty(),
        "{page}: controls without a label: {unlabelled:?}"
    );
    let (width, content) = browser.widths().await;
    assert!(
        content <= width,
        "{page}: content {content} px wide in a {width} px window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_clears_a_suspension_and_resyncs_errors_in_a_browser() {
    let bench = Bench::start().await;
    let base = format!("http://{}", bench.console);
    let driver = Driver::start().await;
    let browser = driver.browser(1280, 1300).await;

    // The sign-in form works from the keyboard: Tab from the token field
    // reaches the Sign in button.
    browser.goto(&format!("{base}/sign-in")).await;
    shot(&browser, "sign-in").await;
    let field = browser.find("textarea#token").await;
    browser.click(&field).await;
    browser.press("\u{E004}").await;
    let focused = browser.focused().await;
    assert_eq!(browser.text(&focused).await, "Sign in");

    sign_in(&browser, &base, OPERATOR).await;
    assert!(browser.url().await.ends_with("/fleet"));
    fits(&browser, "fleet").await;
    shot(&browser, "fleet").await;

    // acme is suspended: its row on the fleet leads to its page.
    let row = browser.find(r#"#suspended a[href="/orgs/acme"]"#).await;
    browser.click(&row).await;
    wait_for(&browser, "#suspensions").await;
    assert!(browser.source().await.contains("Missing field permissions"));
    fits(&browser, "org").await;
    shot(&browser, "org").await;
    browser
        .click(
            &browser
                .find(r#"form[action="/orgs/acme/clear"] button"#)
                .await,
        )
        .await;
    wait_for(&browser, "#not-suspended").await;
    let notice = browser.text(&browser.find("p.notice").await).await;
    assert_eq!(
        notice,
        "The suspension “Missing field permissions” of acme is cleared."
    );
    assert!(
        bench.suspensions_of("acme").await.is_empty(),
        "cleared in the governor"
    );

    // Sync health: a card per type; one opens its errors.
    browser
        .click(
            &browser
                .find(r#"nav.tabs a[href="/orgs/acme/health"]"#)
                .await,
        )
        .await;
    wait_for(&browser, "#card-STRING_TOO_LONG").await;
    fits(&browser, "health").await;
    shot(&browser, "health").await;
    browser
        .click(&browser.find("#card-STRING_TOO_LONG h3 a").await)
        .await;
    wait_for(&browser, "table#errors").await;
    fits(&browser, "errors").await;
    shot(&browser, "errors").await;
    let boxes = browser.all(r#"input[name="error_id"]"#).await;
    assert_eq!(boxes.len(), 3, "three values too long");
    let mut chosen = Vec::new();
    for b in &boxes[..2] {
        browser.click(b).await;
        chosen.push(browser.attribute(b, "value").await);
    }
    browser.click(&browser.find("#resync").await).await;
    wait_for(&browser, "p.notice").await;
    assert_eq!(
        browser.text(&browser.find("p.notice").await).await,
        "2 errors queued for resync."
    );
    let mut resyncing: Vec<String> = bench
        .errors_of("acme", errors::ErrorState::Resyncing)
        .await
        .into_iter()
        .map(|e| e.error_id)
        .collect();
    resyncing.sort();
    chosen.sort();
    assert_eq!(
        resyncing, chosen,
        "the ticked errors, and only they, are queued"
    );

    browser
        .goto(&format!("{base}/orgs/acme/notifications"))
        .await;
    wait_for(&browser, "#webhook-url").await;
    fits(&browser, "notifications").await;

    // A phone's width: the pages reflow into one column.
    browser.resize(390, 844).await;
    browser.goto(&format!("{base}/orgs/acme")).await;
    wait_for(&browser, "#used").await;
    fits(&browser, "org at 390 px").await;
    shot(&browser, "org-390").await;
    browser.goto(&format!("{base}/orgs/acme/health")).await;
    fits(&browser, "health at 390 px").await;

    // Signing out ends the session.
    browser
        .click(&browser.find("form.sign-out button").await)
        .await;
    wait_for(&browser, "textarea#token").await;
    browser.quit().await;

    // A worker's token: the allocation change it tries is refused, said in words.
    let worker = driver.browser(1280, 1300).await;
    sign_in(&worker, &base, WORKER).await;
    worker.goto(&format!("{base}/orgs/acme")).await;
    let input = worker.find("#allocation-input").await;
    worker.clear(&input).await;
    worker.type_into(&input, "99999").await;
    worker
        .click(
            &worker
                .find(r#"button[name="change"][value="allocation"]"#)
                .await,
        )
        .await;
    wait_for(&worker, "p.notice.error").await;
    assert_eq!(
        worker.text(&worker.find("p.notice.error").await).await,
        "You may not change the allocation of this org: your credential does not allow it."
    );
    shot(&worker, "refused").await;
    worker.quit().await;
}
