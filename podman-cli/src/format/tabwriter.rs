//! Go's text/tabwriter (what Podman's tables go through): tab-terminated
//! cells aligned in column blocks of consecutive lines, each column as
//! wide as its widest cell plus padding and at least `minwidth`. A line
//! without tabs ends every block (the writer flushes there), and the last
//! cell of a line is not part of any column.

/// Align `input` as `tabwriter.NewWriter(w, minwidth, _, padding, padchar, 0)`.
pub fn tabwrite(input: &str, minwidth: usize, padding: usize, padchar: u8) -> String {
    let mut tw = Tw {
        lines: Vec::new(),
        widths: Vec::new(),
        minwidth,
        padding,
        padchar: padchar as char,
        out: String::with_capacity(input.len() + input.len() / 2),
        partial_last: false,
    };
    let mut rest = input;
    while let Some(i) = rest.find('\n') {
        let cells: Vec<&str> = rest[..i].split('\t').collect();
        let single = cells.len() == 1;
        tw.lines.push(cells);
        rest = &rest[i + 1..];
        if single {
            tw.flush();
        }
    }
    if !rest.is_empty() {
        tw.lines.push(rest.split('\t').collect());
        tw.partial_last = true;
    }
    tw.flush();
    tw.out
}

struct Tw<'s> {
    lines: Vec<Vec<&'s str>>,
    widths: Vec<usize>,
    minwidth: usize,
    padding: usize,
    padchar: char,
    out: String,
    partial_last: bool,
}

fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

impl Tw<'_> {
    fn flush(&mut self) {
        let n = self.lines.len();
        self.format(0, n);
        self.lines.clear();
        self.widths.clear();
    }

    fn format(&mut self, line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut line0 = line0;
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(line0, this);
            line0 = this;
            let mut w = self.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                w = w.max(width(line[column]) + self.padding);
                this += 1;
            }
            self.widths.push(w);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            let line = &self.lines[i];
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(cell);
                if j < self.widths.len() {
                    let pad = self.widths[j].saturating_sub(width(cell));
                    for _ in 0..pad {
                        self.out.push(self.padchar);
                    }
                }
            }
            if !(self.partial_last && i + 1 == self.lines.len()) {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tabwrite;

    #[test]
    fn columns_are_at_least_minwidth_and_padded() {
        assert_eq!(
            tabwrite("ID\tNAME\nabc\tx\n", 12, 2, b' '),
            "ID          NAME\nabc         x\n"
        );
        assert_eq!(
            tabwrite("CONTAINER ID\tIMAGE\n0123456789ab\tbusybox\n", 12, 2, b' '),
            "CONTAINER ID  IMAGE\n0123456789ab  busybox\n"
        );
    }

    #[test]
    fn a_line_without_tabs_ends_the_block() {
        assert_eq!(
            tabwrite("a\tb\nplain\nlonger-than-twelve\tc\n", 2, 1, b' '),
            "a b\nplain\nlonger-than-twelve c\n"
        );
    }

    #[test]
    fn column_blocks_follow_consecutive_lines() {
        // The second column only spans the lines that have a third cell.
        assert_eq!(
            tabwrite("a\tbbbb\tc\na\tb\tc\nxx\ty\n", 0, 1, b' '),
            "a  bbbb c\na  b    c\nxx y\n"
        );
        assert_eq!(tabwrite("a\tb", 0, 1, b' '), "a b");
        assert_eq!(tabwrite("x\t\n", 4, 0, b' '), "x   \n");
    }
}
