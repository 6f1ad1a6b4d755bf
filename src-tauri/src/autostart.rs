//! "Start Hearth when I log in": an XDG autostart entry
//! (`$XDG_CONFIG_HOME/autostart/hearth.desktop`, `~/.config` when unset) that starts this
//! program hidden in the tray, recording. Written here rather than through
//! tauri-plugin-autostart, whose Linux backend (auto-launch) ignores `XDG_CONFIG_HOME` and
//! would add a dependency for twenty lines; whether the person was asked once is a file
//! beside it in the app's config folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// What the dashboard's switch shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Autostart {
    /// Whether the entry exists.
    pub enabled: bool,
    /// Whether the first run's question was answered (either way).
    pub asked: bool,
    /// The entry's file.
    pub entry: String,
}

pub struct Paths {
    /// The autostart entry.
    pub entry: PathBuf,
    /// Marks the question as answered.
    pub asked: PathBuf,
}

impl Paths {
    /// `config_home` is `$XDG_CONFIG_HOME` or `~/.config`; `app_config` the app's folder in it.
    pub fn new(config_home: &Path, app_config: &Path) -> Paths {
        Paths {
            entry: config_home.join("autostart").join("hearth.desktop"),
            asked: app_config.join("autostart-asked"),
        }
    }

    pub fn state(&self) -> Autostart {
        Autostart {
            enabled: self.entry.is_file(),
            asked: self.asked.exists(),
            entry: self.entry.display().to_string(),
        }
    }

    /// Writes or removes the entry, and records that the person chose.
    pub fn set(&self, enabled: bool, exe: &Path) -> std::io::Result<Autostart> {
        if enabled {
            write(&self.entry, &entry(exe))?;
        } else if let Err(e) = std::fs::remove_file(&self.entry)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(e);
        }
        write(&self.asked, "")?;
        Ok(self.state())
    }
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// The entry's text: this program, started hidden.
pub fn entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Hearth\n\
         Comment=Starts the Hearth hub in the tray when you log in, so it keeps recording\n\
         Exec={} --hidden\n\
         Icon=hearth-desktop\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        exec_arg(&exe.to_string_lossy())
    )
}

/// One argument of an `Exec` key, quoted as the Desktop Entry Specification says: inside
/// double quotes, `"`, `` ` ``, `$` and `\` take a backslash (itself escaped once more by the
/// string rules of the file), `%` is doubled because it starts a field code, and a line
/// break or tab is written as the string escape for it.
fn exec_arg(arg: &str) -> String {
    let mut q = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                q.push_str("\\\\");
                q.push(c);
            }
            '\\' => q.push_str("\\\\\\\\"),
            '%' => q.push_str("%%"),
            // A line break would end the key and start another: the string escapes keep it in.
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_this_program_hidden() {
        let e = entry(Path::new("/usr/bin/hearth-desktop"));
        assert!(
            e.contains("\nExec=\"/usr/bin/hearth-desktop\" --hidden\n"),
            "{e}"
        );
        assert_eq!(
            exec_arg("/home/a b/100%/$x\"y"),
            "\"/home/a b/100%%/\\\\$x\\\\\"y\""
        );
        assert_eq!(exec_arg("/a\nX-Evil=1"), "\"/a\\nX-Evil=1\"");
    }

    #[test]
    fn switching_writes_and_removes_the_entry() {
        let dir = std::env::temp_dir().join(format!("hearth-autostart-{}", std::process::id()));
        let p = Paths::new(&dir, &dir.join("app"));
        assert!(!p.state().enabled && !p.state().asked);
        let s = p.set(true, Path::new("/opt/hearth")).unwrap();
        assert!(s.enabled && s.asked);
        let s = p.set(false, Path::new("/opt/hearth")).unwrap();
        assert!(!s.enabled && s.asked);
        p.set(false, Path::new("/opt/hearth")).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
