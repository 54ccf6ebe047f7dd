//! Change notifications: the records `FspFileSystemNotify` takes (`FSP_FSCTL_NOTIFY_INFO`),
//! built from the core's [`WindowsNotification`]s.

use mountkit_core::windows::{path_to_windows, WindowsNotification};

/// `sizeof(FSP_FSCTL_NOTIFY_INFO)`: `UINT16 Size`, then (at 4) `UINT32 Filter` and (at 8)
/// `UINT32 Action`, then the name.
const HEADER: usize = 12;
/// `FSP_FSCTL_DEFAULT_ALIGNMENT`: each record starts at a multiple of it.
const ALIGNMENT: usize = 8;

/// The `FSP_FSCTL_NOTIFY_INFO` records for `notifications`, one after the other, each with
/// its full volume path (`\dir\name`, the root as `\`), in 8-byte words so the records are
/// aligned as WinFsp reads them, and their length in bytes (the last record ends there,
/// before the padding of its word). `None` when a path is too long for a record's 16-bit size.
pub(crate) fn notify_records(notifications: &[WindowsNotification]) -> Option<(Vec<u64>, usize)> {
    let mut bytes = Vec::new();
    for notification in notifications {
        let name = path_to_windows(&notification.path);
        let size = u16::try_from(HEADER + name.len() * 2).ok()?;
        bytes.resize(bytes.len().next_multiple_of(ALIGNMENT), 0);
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&notification.filter.to_le_bytes());
        bytes.extend_from_slice(&notification.action.to_le_bytes());
        bytes.extend(name.iter().flat_map(|unit| unit.to_le_bytes()));
    }
    let words = bytes
        .chunks(ALIGNMENT)
        .map(|chunk| {
            let mut word = [0u8; ALIGNMENT];
            word[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(word)
        })
        .collect();
    Some((words, bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|word| word.to_le_bytes()).collect()
    }

    #[test]
    fn records_carry_size_filter_action_and_the_windows_path_each_aligned_to_8() {
        let notifications = [
            WindowsNotification {
                path: "/d/a".into(),
                action: 4,
                filter: 1,
            },
            WindowsNotification {
                path: "/".into(),
                action: 3,
                filter: 0x1c,
            },
        ];
        let (words, length) = notify_records(&notifications).unwrap();
        let all = bytes(&words);
        // First record: 12 + 4 units.
        assert_eq!(&all[..12], &[20, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0]);
        let name: Vec<u8> = "\\d\\a".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(&all[12..20], &name[..]);
        // The second starts at 24, the next multiple of 8.
        assert_eq!(&all[20..24], &[0; 4]);
        assert_eq!(&all[24..36], &[14, 0, 0, 0, 0x1c, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&all[36..38], &[b'\\', 0]);
        assert_eq!(length, 38);
        assert_eq!(words.len(), 5);
    }

    #[test]
    fn a_path_too_long_for_a_record_is_refused() {
        let long = WindowsNotification {
            path: format!("/{}", "n".repeat(40_000)),
            action: 1,
            filter: 1,
        };
        assert_eq!(notify_records(&[long]), None);
    }
}
