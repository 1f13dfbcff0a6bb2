//! Times the way Podman prints them.

pub fn format_time(secs: i64) -> String {
    // "Fri Nov 27 20:24:22 2026", as Go's time.ANSIC in UTC.
    let (y, mo, d, h, m, s) = common::time::utc(secs);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{} {} {d:>2} {h:02}:{m:02}:{s:02} {y}",
        DAYS[secs.div_euclid(86400).rem_euclid(7) as usize],
        MONTHS[(mo - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_like_go_ansic() {
        assert_eq!(super::format_time(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            super::format_time(1_795_811_062),
            "Fri Nov 27 20:24:22 2026"
        );
    }
}
