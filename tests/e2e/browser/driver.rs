//! The chromedriver process of a test, and where the browser's programs are.
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Whether a missing browser fails the tests instead of skipping them (CI sets it).
pub fn required() -> bool {
    std::env::var("CRM_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// `/usr/bin/<name>`, else `<name>` on the PATH.
pub fn program(name: &str) -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin").join(name);
    if fixed.is_file() {
        return Some(fixed);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver process of one test, in its own process group: dropping it kills the group,
/// so no browser outlives the test, even one a failed test could not close.
pub struct Driver {
    child: Child,
    pub(super) url: String,
}

impl Driver {
    /// Starts chromedriver on a free port; `None` (after saying so) when it is not installed.
    pub async fn start() -> Option<Driver> {
        let Some(path) = program("chromedriver") else {
            assert!(
                !required(),
                "CRM_REQUIRE_BROWSER=1 but chromedriver was not found"
            );
            println!("browser tests skipped: chromedriver not found");
            return None;
        };
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut command = Command::new(&path);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", path.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver does not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; the browsers it started are in the group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
