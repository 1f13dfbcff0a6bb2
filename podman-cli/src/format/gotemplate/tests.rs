//! Templates and their output, after Go's text/template exec_test.go.

use serde_json::{json, Value as Json};

use super::{Data, Template};

fn data() -> Json {
    json!({
        "True": true, "False": false, "I": 17, "Neg": -3, "F": 1.5, "Zero": 0,
        "X": "x", "S": "xyz", "Empty": "", "Tricky": "<&'\">",
        "SI": [3, 4, 5], "SIEmpty": [], "SS": ["a", "b", "c"],
        "Labels": {"a": "1", "b": "2"},
        "Options": {},
        "Nested": {"Name": "n", "Inner": {"Deep": "d"}},
        "Items": [{"Name": "one"}, {"Name": "two"}],
        "NilPtr": null,
        "host": {"arch": "amd64", "ociRuntime": {"name": "runc"}, "cpus": 2},
        "Id": "abc",
        "Ports": [{"HostPort": 8080}],
        "Labels2": {"c1": {"interfaces": {"eth0": {"mac_address": "aa", "subnets": [{"gateway": "10.0.0.1", "ipnet": "10.0.0.2/24"}]}, "eth1": {}}, "name": "c"}}
    })
}

fn run(t: &str) -> Result<String, String> {
    let d = data();
    let tmpl = Template::new("t", t)
        .map_err(|e| e.to_string())?
        .with_root_type("T");
    tmpl.execute(Data::One(&d)).map_err(|e| e.to_string())
}

const CASES: &[(&str, &str)] = &[
    // Text, fields, printing.
    ("hello", "hello"),
    ("{{.X}}", "x"),
    ("{{.I}} {{.Neg}} {{.F}} {{.Zero}}", "17 -3 1.5 0"),
    ("{{.True}} {{.False}}", "true false"),
    ("{{.SI}} {{.SS}} {{.SIEmpty}}", "[3 4 5] [a b c] []"),
    ("{{.Labels}} {{.Options}}", "map[a:1 b:2] map[]"),
    // Fields in the struct's (the document's) order, as Go prints them.
    ("{{.Nested}}", "{n {d}}"),
    ("{{.Nested.Inner}}", "{d}"),
    ("{{.Items}}", "[{one} {two}]"),
    ("{{.NilPtr}}", "<nil>"),
    ("{{.Labels.a}}", "1"),
    ("{{.Labels.zzz}}", "<no value>"),
    ("{{.Labels.zzz.deeper}}", "<no value>"),
    ("{{.ID}}", "abc"),
    // JSON keys reached by Go field names.
    ("{{.Host.Arch}} {{.Host.OCIRuntime.Name}} {{.Host.CPUs}}", "amd64 runc 2"),
    // Literals.
    ("{{0x10}} {{1_000}} {{'a'}} {{-1.5}} {{1e3}} {{0o17}} {{0b101}}", "16 1000 97 -1.5 1000 15 5"),
    ("{{`a\\nb`}}|{{\"a\\tb\"}}", "a\\nb|a\tb"),
    ("{{true}} {{false}}", "true false"),
    // Trim markers and comments.
    ("a  {{- .X -}}  b", "axb"),
    ("a {{- /* c */ -}} b", "ab"),
    ("{{/* a comment\nover lines */}}x", "x"),
    ("a {{- 3}} {{4 -}} b", "a3 4b"),
    // Variables.
    ("{{$x := .I}}{{$x}}", "17"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("{{with $x := .S}}{{$x}}{{end}}", "xyz"),
    ("{{$n := .Nested}}{{$n.Inner.Deep}}", "d"),
    ("{{range .SS}}{{$.X}}{{end}}", "xxx"),
    ("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", "21"),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    // if / else if / with.
    ("{{if .True}}T{{else}}F{{end}}", "T"),
    ("{{if .Empty}}T{{else if .I}}I{{else}}F{{end}}", "I"),
    ("{{if .Empty}}T{{else if .Zero}}I{{else}}F{{end}}", "F"),
    ("{{if not .True}}a{{else}}b{{end}}", "b"),
    ("{{if .SIEmpty}}a{{else}}b{{end}}{{if .Options}}c{{else}}d{{end}}", "bd"),
    ("{{if .Labels.nope}}a{{else}}b{{end}}", "b"),
    ("{{if .NilPtr}}a{{else}}b{{end}}", "b"),
    ("{{with .Empty}}x{{else}}empty{{end}}", "empty"),
    ("{{with .Nested}}{{.Name}}{{end}}", "n"),
    ("{{with .Empty}}a{{else with .X}}{{.}}{{end}}", "x"),
    // range.
    ("{{range .SI}}<{{.}}>{{end}}", "<3><4><5>"),
    ("{{range $i, $v := .SS}}{{$i}}={{$v}} {{end}}", "0=a 1=b 2=c "),
    ("{{range $v := .SS}}{{$v}}{{end}}", "abc"),
    ("{{range .SIEmpty}}x{{else}}none{{end}}", "none"),
    ("{{range .NilPtr}}x{{else}}none{{end}}", "none"),
    ("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", "a:1;b:2;"),
    ("{{range .Items}}{{.Name}},{{end}}", "one,two,"),
    ("{{range .Ports}}{{.HostPort}}{{end}}", "8080"),
    ("{{range .SI}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", "3"),
    ("{{range .SI}}{{if eq . 4}}{{continue}}{{end}}{{.}}{{end}}", "35"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range .SS}}{{range $.SI}}{{.}}{{end}}{{end}}", "345345345"),
    // define / template / block.
    ("{{define \"T1\"}}ONE{{end}}{{template \"T1\"}}", "ONE"),
    ("{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" .X}}", "[x]"),
    ("{{block \"B\" .S}}<{{.}}>{{end}}", "<xyz>"),
    ("{{define \"r\"}}{{if .}}{{index . 0}}{{template \"r\" slice . 1}}{{end}}{{end}}{{template \"r\" .SS}}", "abc"),
    // Builtins.
    ("{{len .SS}} {{len .S}} {{len .Labels}}", "3 3 2"),
    ("{{index .SS 1}} {{index .Labels \"b\"}}|{{index .Labels \"nope\"}}|", "b 2||"),
    ("{{index .Items 1 \"Name\"}}", "two"),
    ("{{slice .S 1 2}} {{slice .SS 1}} {{slice .S}}", "y [b c] xyz"),
    ("{{eq .I 17}} {{eq .X \"a\" \"x\"}} {{ne .S \"xyz\"}}", "true true false"),
    ("{{lt 1 2}} {{le 2 2}} {{gt .F 1.0}} {{ge 1 2}} {{lt \"a\" \"b\"}}", "true true true false true"),
    ("{{eq .Labels.nope \"x\"}}", "false"),
    ("{{and 1 0 2}} {{or 0 \"\" .X}} {{and .True .X}} {{or 0}}", "0 x x 0"),
    ("{{not 0}} {{not .S}}", "true false"),
    ("{{print 1 2 \"a\" 3}}", "1 2a3"),
    ("{{println 1 2}}", "1 2\n"),
    ("{{print .Labels.nope}}", "<nil>"),
    ("{{html .Tricky}}", "&lt;&amp;&#39;&#34;&gt;"),
    ("{{js .Tricky}}", "\\u003C\\u0026\\'\\\"\\u003E"),
    ("{{urlquery \"a b&c\"}}", "a+b%26c"),
    // printf.
    ("{{printf \"%d-%s\" .I .X}}", "17-x"),
    ("{{printf \"%5.2f|\" .F}}", " 1.50|"),
    ("{{printf \"%-10s|%10s|\" .X .S}}", "x         |       xyz|"),
    ("{{printf \"%q %v %t\" .S .SS .True}}", "\"xyz\" [a b c] true"),
    ("{{printf \"%x %X %o %b %c\" 255 255 8 5 65}}", "ff FF 10 101 A"),
    ("{{printf \"%05d|%+d|%x\" -42 5 \"hi\"}}", "-0042|+5|6869"),
    ("{{printf \"%d\" .X}}", "%!d(string=x)"),
    ("{{printf \"%s\"}}", "%!s(MISSING)"),
    ("{{printf \"%s\" 1 2}}", "%!s(int=1)%!(EXTRA int=2)"),
    ("{{printf \"%e|%g|%g\" 1234.5678 0.000012 123456789.0}}", "1.234568e+03|1.2e-05|1.23456789e+08"),
    ("{{printf \"%v %v %v\" 1e21 100000000.0 0.5}}", "1e+21 1e+08 0.5"),
    ("{{printf \"%6.2f%%\" 12.3456}}", " 12.35%"),
    ("{{printf \"%s\" .Labels.nope}}", "%!s(<nil>)"),
    ("{{printf \"%v\" .Labels}}", "map[a:1 b:2]"),
    ("{{printf \"%3d|%-3d|\" 7 7}}", "  7|7  |"),
    // Pipelines and parentheses.
    ("{{.X | printf \"%s-\"}}", "x-"),
    ("{{\"a\" | printf \"%s%s\" \"b\"}}", "ba"),
    ("{{index .SS 0 | upper}}", "A"),
    ("{{(index .SS 0) | upper | printf \"<%s>\"}}", "<A>"),
    ("{{index .SS (len .SIEmpty)}}", "a"),
    ("{{(.Nested).Inner.Deep}}", "d"),
    ("{{(index .Items 0).Name}}", "one"),
    // Podman's functions.
    ("{{json .SS}}", "[\"a\",\"b\",\"c\"]"),
    ("{{json .Labels}}", "{\"a\":\"1\",\"b\":\"2\"}"),
    ("{{json .Tricky}}", "\"<&'\\\">\""),
    ("{{json .Host.OCIRuntime}}", "{\"name\":\"runc\"}"),
    // Go structs in field order (libpod's NetworkContainerInfo), maps sorted.
    (
        "{{json .Labels2}}",
        "{\"c1\":{\"name\":\"c\",\"interfaces\":{\"eth0\":{\"subnets\":[{\"ipnet\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"}],\"mac_address\":\"aa\"},\"eth1\":{}}}}",
    ),
    ("{{json .I}} {{json .NilPtr}}", "17 null"),
    ("{{lower \"ABC\"}} {{upper .S}}", "abc XYZ"),
    ("{{title \"hello world-x\"}}", "Hello World-X"),
    ("{{truncate .S 2}} {{truncate .S 10}} {{truncate .S 3}}", "xy xyz xyz"),
    ("{{join .SS \",\"}}", "a,b,c"),
    ("{{split \"a:b\" \":\"}} {{len (split \"a:b:c\" \":\")}}", "[a b] 3"),
    ("{{join (split \"a:b\" \":\") \"+\"}}", "a+b"),
    ("[{{pad .S 2 1}}][{{pad .Empty 2 1}}]", "[  xyz ][]"),
];

#[test]
fn templates_render_as_go_does() {
    let mut failures = Vec::new();
    for (t, want) in CASES {
        match run(t) {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{t:?}: want {want:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const PARSE_ERRORS: &[(&str, &str)] = &[
    ("{{.X", "template: t:1: unclosed action"),
    ("{{if .X}}", "template: t:1: unexpected EOF"),
    ("{{end}}", "template: t:1: unexpected {{end}}"),
    ("{{else}}", "template: t:1: unexpected {{else}}"),
    (
        "{{nofunc .X}}",
        "template: t:1: function \"nofunc\" not defined",
    ),
    ("{{$y}}", "template: t:1: undefined variable \"$y\""),
    ("{{break}}", "template: t:1: {{break}} outside {{range}}"),
    (
        "{{.X | 1}}",
        "template: t:1: non executable command in pipeline stage 2",
    ),
    ("{{\"abc}}", "template: t:1: unterminated quoted string"),
    ("{{/* x }}", "template: t:1: unclosed comment"),
    ("{{range}}{{end}}", "template: t:1: missing value for range"),
    (
        "{{if .X}}a{{else}}b{{else}}c{{end}}",
        "template: t:1: expected end; found {{else}}",
    ),
    ("a\n{{.X}}\n{{.Y", "template: t:3: unclosed action"),
    ("{{.X}}}", ""),
    ("{{3 | .X}}", ""),
];

#[test]
fn bad_templates_fail_to_parse_with_gos_messages() {
    for (t, want) in PARSE_ERRORS {
        let r = Template::new("t", t);
        if want.is_empty() {
            assert!(r.is_ok(), "{t:?}: {:?}", r.err());
            continue;
        }
        match r {
            Err(e) => assert_eq!(e.to_string(), *want, "{t:?}"),
            Ok(_) => panic!("{t:?} parsed"),
        }
    }
}

const EXEC_ERRORS: &[(&str, &str)] = &[
    ("{{.Foo}}", "template: t:1:2: executing \"t\" at <.Foo>: can't evaluate field Foo in type T"),
    ("x {{.X.Y}}", "template: t:1:4: executing \"t\" at <.X.Y>: can't evaluate field Y in type string"),
    ("{{.Nested.Nope}}", "template: t:1:2: executing \"t\" at <.Nested.Nope>: can't evaluate field Nope in type *Nested"),
    ("{{.NilPtr.Y}}", "template: t:1:2: executing \"t\" at <.NilPtr.Y>: nil pointer evaluating interface {}.Y"),
    ("{{index .SS 5}}", "template: t:1:2: executing \"t\" at <index .SS 5>: error calling index: index out of range: 5"),
    ("{{lower .I}}", "template: t:1:8: executing \"t\" at <.I>: wrong type for value; expected string; got int"),
    ("{{template \"nope\"}}", "template: t:1:11: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"),
    ("{{lt .X 1}}", "template: t:1:2: executing \"t\" at <lt .X 1>: error calling lt: incompatible types for comparison"),
    ("{{len 3}}", "template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int"),
    ("{{range .S}}{{end}}", "template: t:1:8: executing \"t\" at <.S>: range can't iterate over xyz"),
    ("{{lower}}", "template: t:1:2: executing \"t\" at <lower>: wrong number of args for lower: want 1 got 0"),
    ("{{.X 1}}", "template: t:1:2: executing \"t\" at <.X>: X has arguments but cannot be invoked as function"),
    ("{{1 2}}", "template: t:1:2: executing \"t\" at <1>: can't give argument to non-function 1"),
    ("{{nil}}", "template: t:1:2: executing \"t\" at <nil>: nil is not a command"),
    ("{{.Nested.Inner.DeepNope.AndMore}}", "template: t:1:2: executing \"t\" at <.Nested.Inner.DeepNo...>: can't evaluate field DeepNope in type *Inner"),
    ("{{range .Ports}}{{.Nope}}{{end}}", "template: t:1:18: executing \"t\" at <.Nope>: can't evaluate field Nope in type *Ports"),
    ("{{define \"d\"}}{{.Q}}{{end}}{{template \"d\" .}}", "template: t:1:16: executing \"d\" at <.Q>: can't evaluate field Q in type T"),
];

#[test]
fn execution_errors_read_as_gos() {
    for (t, want) in EXEC_ERRORS {
        match run(t) {
            Err(e) => assert_eq!(e, *want, "{t:?}"),
            Ok(o) => panic!("{t:?} gave {o:?}"),
        }
    }
}

#[test]
fn a_template_is_parsed_once_and_run_per_row() {
    let rows: Vec<Json> = (0..500)
        .map(|i| json!({"ID": format!("{i:012}"), "Names": format!("c{i}"), "Labels": {"k": "v"}}))
        .collect();
    let t = Template::new(
        "ps",
        "{{range .}}{{.ID}}\t{{.Names}}\t{{.Labels.k}}\n{{end -}}",
    )
    .unwrap();
    let out = t.execute(Data::Rows(&rows)).unwrap();
    assert_eq!(out.lines().count(), 500);
    assert!(out.starts_with("000000000000\tc0\tv\n"));
    // Reuse on one row at a time.
    for r in rows.iter().take(3) {
        let one = Template::new("x", "{{.Names}}").unwrap();
        assert!(one.execute(Data::One(r)).unwrap().starts_with('c'));
    }
}

#[test]
fn top_fields_list_what_the_template_reads() {
    let t = Template::new(
        "t",
        "{{.ID}} {{if .State.Running}}{{upper .Names}}{{end}} {{(index .Labels \"a\")}} {{.ID}}",
    )
    .unwrap();
    assert_eq!(t.top_fields(), vec!["ID", "State", "Names", "Labels"]);
}

#[test]
fn huge_widths_are_refused_as_go_refuses_them() {
    assert_eq!(
        run(r#"{{printf "%*d|" 2000000 5}}"#).unwrap(),
        "%!(BADWIDTH)5|"
    );
    assert_eq!(
        run(r#"{{printf "%.*f|" 2000000 1.5}}"#).unwrap(),
        "%!(BADPREC)1.500000|"
    );
    let out = run(r#"{{printf "%99999999999999999999d|x" 1}}"#).unwrap();
    assert!(out.starts_with("%!(NOVERB)") && out.len() < 40, "{out}");
    assert_eq!(run(r#"{{printf "%3d|" 7}}"#).unwrap(), "  7|");
    let e = run(r#"{{pad "a" 99999999999 0}}"#).unwrap_err();
    assert!(e.contains("too many"), "{e}");
}

#[test]
fn endless_template_recursion_stops_with_gos_error_not_a_stack_overflow() {
    // Test threads have 2 MiB of stack; podman's main thread has 8.
    let r = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let deep = run(r#"{{define "t"}}{{template "t" .}}{{end}}{{template "t" .}}"#);
            let nested = run(r#"{{define "t"}}{{if .}}{{with .}}{{range .Items}}{{template "t" $}}{{end}}{{end}}{{end}}{{end}}{{template "t" .}}"#);
            (deep, nested)
        })
        .unwrap()
        .join()
        .unwrap();
    for e in [r.0, r.1] {
        let e = e.unwrap_err();
        assert!(e.contains("exceeded maximum template depth"), "{e}");
    }
}

#[test]
fn deep_nesting_is_refused_as_go_refuses_it_not_a_stack_overflow() {
    let r = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let parens = |n: usize| format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
            let ifs = |n: usize| format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
            (
                run(&parens(99)),
                run(&parens(100_000)),
                run(&ifs(99)),
                run(&ifs(100_000)),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(r.0.as_deref(), Ok("1"));
    assert!(r.1.unwrap_err().contains("max expression depth exceeded"));
    assert_eq!(r.2.as_deref(), Ok("x"));
    assert!(r.3.unwrap_err().contains("max expression depth exceeded"));
}

#[test]
fn an_images_empty_config_fields_read_as_zero_values() {
    // OCI's ImageConfig fields are omitempty: an image without variables
    // has no "Env" in its JSON, and Go's template still reads [].
    let d = json!({"Id": "i", "Config": {"Cmd": ["sh"]}});
    let t = Template::new("t", "{{.Config.Env}}|{{.Config.Cmd}}|{{.Config.User}}|{{.Config.Labels}}|{{len .Config.Entrypoint}}")
        .unwrap();
    assert_eq!(t.execute(Data::One(&d)).unwrap(), "[]|[sh]||map[]|0");
    let t = Template::new("t", "{{.Config.Nope}}").unwrap();
    assert!(t.execute(Data::One(&d)).is_err());
}
