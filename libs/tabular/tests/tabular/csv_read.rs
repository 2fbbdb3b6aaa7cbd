//! CSV reading: encodings, delimiters, quoting, ragged rows, chunk edges.

use std::io::Write;

use crm_tabular::read::TextEncoding;
use crm_tabular::{CsvOptions, ReadError, csv_rows, open_path};

use crate::common::{cells, collect_ok, temp_path};

fn read(bytes: &[u8]) -> (Vec<crm_tabular::Row>, TextEncoding, u8) {
    let rows = csv_rows(bytes, &CsvOptions::default()).expect("open");
    let (enc, delim) = (rows.encoding(), rows.delimiter());
    (collect_ok(rows), enc, delim)
}

#[test]
fn utf8_plain() {
    let (rows, enc, delim) = read("姓名,电话,编号\n张三,13800138000,007\n".as_bytes());
    assert_eq!(enc, TextEncoding::Utf8);
    assert_eq!(delim, b',');
    assert_eq!(
        cells(&rows),
        vec![
            vec!["姓名", "电话", "编号"],
            vec!["张三", "13800138000", "007"]
        ]
    );
    assert_eq!(rows[0].number, 1);
    assert_eq!(rows[1].number, 2);
}

#[test]
fn utf8_bom_is_stripped() {
    let (rows, enc, _) = read("\u{feff}name,phone\r\n李四,2/4\r\n".as_bytes());
    assert_eq!(enc, TextEncoding::Utf8);
    assert_eq!(
        cells(&rows),
        vec![vec!["name", "phone"], vec!["李四", "2/4"]]
    );
}

#[test]
fn gbk_is_detected_and_decoded() {
    let text = "姓名,城市,备注\n张三,北京,\"含,逗号\"\n王五,上海,镕\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let (rows, enc, delim) = read(&bytes);
    assert_eq!(enc, TextEncoding::Gb18030);
    assert_eq!(delim, b',');
    assert_eq!(
        cells(&rows),
        vec![
            vec!["姓名", "城市", "备注"],
            vec!["张三", "北京", "含,逗号"],
            vec!["王五", "上海", "镕"],
        ]
    );
    // Declared GBK works the same and reports what was declared.
    let opts = CsvOptions {
        encoding: Some("GBK".into()),
        ..Default::default()
    };
    let declared = csv_rows(&bytes[..], &opts).expect("open");
    assert_eq!(declared.encoding(), TextEncoding::Gbk);
    assert_eq!(collect_ok(declared).len(), 3);
}

#[test]
fn utf16le_with_bom_tab_delimited() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "名称\t代码\n客户\t007\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let (rows, enc, delim) = read(&bytes);
    assert_eq!((enc, delim), (TextEncoding::Utf16Le, b'\t'));
    assert_eq!(
        cells(&rows),
        vec![vec!["名称", "代码"], vec!["客户", "007"]]
    );
}

#[test]
fn delimiters_are_detected() {
    for (d, text) in [
        (b';', "a;b;c\n1,5;2;3\n4;5;6\n"),
        (b'\t', "a\tb\tc\n1,2\t3\t4\n"),
        (b'|', "a|b|c\n1|2|3\n"),
        (b',', "a,b,c\n\"x;y\",2,3\n"),
    ] {
        let (rows, _, delim) = read(text.as_bytes());
        assert_eq!(char::from(delim), char::from(d), "{text:?}");
        assert_eq!(rows[0].cells, ["a", "b", "c"]);
    }
    // An explicit delimiter wins over detection.
    let opts = CsvOptions {
        delimiter: Some(b';'),
        ..Default::default()
    };
    let rows = collect_ok(csv_rows(&b"a,b;c\n"[..], &opts).expect("open"));
    assert_eq!(cells(&rows), vec![vec!["a,b", "c"]]);
    let bad = CsvOptions {
        delimiter: Some(b'"'),
        ..Default::default()
    };
    assert!(matches!(
        csv_rows(&b"a"[..], &bad),
        Err(ReadError::BadDelimiter('"'))
    ));
}

#[test]
fn quoting_newlines_ragged_and_blank_lines() {
    let text = "name,address,note\n\
                \"Wang, Wei\",\"Line 1\nLine 2\",\"she said \"\"hi\"\"\"\n\
                \n\
                short\n\
                a,b,c,d,e\n\
                ,,\n\
                last,,\n";
    let (rows, _, delim) = read(text.as_bytes());
    assert_eq!(delim, b',');
    assert_eq!(
        cells(&rows),
        vec![
            vec!["name", "address", "note"],
            vec!["Wang, Wei", "Line 1\nLine 2", "she said \"hi\""],
            vec!["short"],
            vec!["a", "b", "c", "d", "e"],
            vec!["last", "", ""],
        ]
    );
    // Numbers are the line where each record starts; blank lines and the
    // all-empty ",," line are skipped but keep numbering true.
    let numbers: Vec<u64> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 5, 6, 8]);
}

/// Builds `header + filler` so that the 3-byte "张" starts at
/// `boundary - split` and so straddles the 64 KiB sniffing window.
fn straddling_file(split: usize) -> (Vec<u8>, usize) {
    const BOUNDARY: usize = 64 * 1024;
    let mut bytes = b"id,name\n".to_vec();
    let mut line = 1usize;
    while bytes.len() + 40 < BOUNDARY {
        line += 1;
        bytes.extend_from_slice(format!("{line:08},filler-ascii-row\n").as_bytes());
    }
    line += 1;
    let prefix = format!("{line:08},");
    let pad = BOUNDARY - split - bytes.len() - prefix.len();
    bytes.extend_from_slice(prefix.as_bytes());
    bytes.extend(std::iter::repeat_n(b'x', pad));
    assert_eq!(bytes.len(), BOUNDARY - split);
    bytes.extend_from_slice("张三\n".as_bytes());
    bytes.extend_from_slice("99999999,李四\n".as_bytes());
    (bytes, line)
}

#[test]
fn multibyte_char_split_at_the_64k_boundary() {
    for split in [1, 2] {
        let (bytes, line) = straddling_file(split);
        let (rows, enc, delim) = read(&bytes);
        assert_eq!((enc, delim), (TextEncoding::Utf8, b','), "split {split}");
        let row = rows.iter().find(|r| r.number == line as u64).expect("row");
        assert!(row.cells[1].ends_with("x张三"), "{:?}", row.cells);
        assert_eq!(rows.last().map(|r| r.cells[1].as_str()), Some("李四"));
    }
}

#[test]
fn gbk_char_split_at_the_64k_boundary() {
    // Everything before "张" is ASCII, so the GBK file has the same layout:
    // the two-byte "张" occupies the last byte of the window and the next.
    let (utf8, line) = straddling_file(1);
    let text = String::from_utf8(utf8).expect("utf8");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let (rows, enc, _) = read(&gbk);
    assert_eq!(enc, TextEncoding::Gb18030);
    let row = rows.iter().find(|r| r.number == line as u64).expect("row");
    assert!(row.cells[1].ends_with("x张三"));
}

#[test]
fn gbk_after_an_ascii_head_fails_at_the_right_row() {
    let mut bytes = b"id,name\n".to_vec();
    let mut line = 1u64;
    while bytes.len() < 100 * 1024 {
        line += 1;
        bytes.extend_from_slice(format!("{line},ascii\n").as_bytes());
    }
    line += 1;
    let (gbk, _, _) = encoding_rs::GBK.encode("张三");
    bytes.extend_from_slice(format!("{line},").as_bytes());
    bytes.extend_from_slice(&gbk);
    bytes.extend_from_slice(b"\nmore,rows\n");
    let mut rows = csv_rows(&bytes[..], &CsvOptions::default()).expect("open");
    let mut last_ok = 0;
    let err = loop {
        match rows.next() {
            Some(Ok(r)) => last_ok = r.number,
            Some(Err(e)) => break e,
            None => panic!("expected an encoding error"),
        }
    };
    assert_eq!(last_ok, line - 1);
    match &err {
        ReadError::Encoding { row, message } => {
            assert_eq!(*row, line, "{message}");
            assert!(message.contains("GBK"), "{message}");
        }
        other => panic!("expected Encoding, got {other:?}"),
    }
    assert!(rows.next().is_none(), "fatal errors end iteration");
}

#[test]
fn undecodable_and_unknown_encodings() {
    let garbage = [b'a', b',', 0xFF, 0xFF, 0xFF, b'\n'];
    assert!(matches!(
        csv_rows(&garbage[..], &CsvOptions::default()),
        Err(ReadError::Encoding { row: 1, .. })
    ));
    let opts = CsvOptions {
        encoding: Some("latin-1".into()),
        ..Default::default()
    };
    assert!(matches!(
        csv_rows(&b"a"[..], &opts),
        Err(ReadError::UnknownEncoding(_))
    ));
    let opts = CsvOptions {
        encoding: Some("gbk".into()),
        ..Default::default()
    };
    assert!(matches!(
        csv_rows("\u{feff}a".as_bytes(), &opts),
        Err(ReadError::Encoding { .. })
    ));
}

#[test]
fn empty_input_yields_no_rows() {
    let (rows, enc, delim) = read(b"");
    assert!(rows.is_empty());
    assert_eq!((enc, delim), (TextEncoding::Utf8, b','));
}

#[test]
fn open_path_reads_csv_files() {
    let path = temp_path("open.csv");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all("\u{feff}编号;金额\n007;1.234,50\n".as_bytes())
        .expect("write");
    drop(f);
    let rows = collect_ok(open_path(&path, &Default::default()).expect("open"));
    assert_eq!(
        cells(&rows),
        vec![vec!["编号", "金额"], vec!["007", "1.234,50"]]
    );
}

#[test]
fn crlf_files_number_rows_by_line() {
    let text = "name,note\r\n\r\nA,\"two\r\nlines\"\r\nB,x\r\n";
    let (rows, _, _) = read(text.as_bytes());
    let numbers: Vec<u64> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 3, 5]);
    assert_eq!(rows[1].cells, ["A", "two\r\nlines"]);
}
