//! The drift check between the hand-written `include/focal_loss.h` and the Rust definitions of
//! the C ABI: every `#define FL_*` with its value, every field of `FlOptions` (name, C type and
//! order; the Rust struct is `repr(C)`, so the same fields in the same order have the same
//! layout, and its offsets are checked against a C layout of those types), and every function
//! (name, return type and parameter types, read from the Rust function pointer types). Anything
//! declared on one side only fails. `cargo xtask capi` then compiles the header with gcc and g++
//! and checks that the shared library exports exactly the functions declared here.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::mem::{align_of, offset_of, size_of};

use focal_loss_capi::*;

fn header() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../include/focal_loss.h");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The header without comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b..].find("*/").expect("unterminated comment") + b + 2;
                out.push(' ');
                rest = &rest[end..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
            (Some(_), None) => unreachable!(),
        }
    }
}

/// A C type, spelled as the header spells it: tokens joined by one space, `*` a token.
fn normalize(ty: &str) -> String {
    ty.replace('*', " * ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits a declarator such as `const float *logits` into its type and its name.
fn split_declarator(decl: &str) -> (String, String) {
    let decl = normalize(decl);
    let (ty, name) = decl.rsplit_once(' ').unwrap_or_else(|| panic!("no name in `{decl}`"));
    (ty.to_string(), name.to_string())
}

/// Rust types and their C spelling.
trait CType {
    fn c() -> String;
}

macro_rules! c_type {
    ($($t:ty => $c:literal),* $(,)?) => {$(
        impl CType for $t {
            fn c() -> String {
                $c.to_string()
            }
        }
    )*};
}
c_type!(u32 => "uint32_t", i32 => "int32_t", i64 => "int64_t", usize => "size_t", f32 => "float",
        c_char => "char", FlOptions => "FlOptions");

impl<T: CType> CType for *const T {
    fn c() -> String {
        normalize(&format!("const {} *", T::c()))
    }
}

impl<T: CType> CType for *mut T {
    fn c() -> String {
        normalize(&format!("{} *", T::c()))
    }
}

/// A C function's return type and parameter types, from its Rust function pointer type.
trait CFn {
    fn signature() -> (String, Vec<String>);
}

macro_rules! c_fn {
    ($($a:ident),*) => {
        impl<R: CType, $($a: CType),*> CFn for unsafe extern "C" fn($($a),*) -> R {
            fn signature() -> (String, Vec<String>) {
                (R::c(), vec![$($a::c()),*])
            }
        }
    };
}
c_fn!();
c_fn!(A);
c_fn!(A, B, C, D, E, F, G);

fn signature<F: CFn>(_: F) -> (String, Vec<String>) {
    F::signature()
}

/// The type of a field, through a projection.
fn field<T: CType>(_: fn(&FlOptions) -> &T) -> (String, usize, usize) {
    (T::c(), size_of::<T>(), align_of::<T>())
}

#[test]
#[cfg_attr(miri, ignore = "reads include/focal_loss.h, which Miri's isolation refuses; a text check")]
fn constants_match() {
    let rust: BTreeMap<&str, i64> = [
        ("FL_ABI_VERSION", FL_ABI_VERSION as i64),
        ("FL_REDUCTION_NONE", FL_REDUCTION_NONE as i64),
        ("FL_REDUCTION_SUM", FL_REDUCTION_SUM as i64),
        ("FL_REDUCTION_MEAN", FL_REDUCTION_MEAN as i64),
        ("FL_OK", FL_OK as i64),
        ("FL_ERR_NULL_POINTER", FL_ERR_NULL_POINTER as i64),
        ("FL_ERR_SHAPE", FL_ERR_SHAPE as i64),
        ("FL_ERR_GAMMA", FL_ERR_GAMMA as i64),
        ("FL_ERR_ALPHA", FL_ERR_ALPHA as i64),
        ("FL_ERR_LABEL_SMOOTHING", FL_ERR_LABEL_SMOOTHING as i64),
        ("FL_ERR_NORMALIZER", FL_ERR_NORMALIZER as i64),
        ("FL_ERR_REDUCTION", FL_ERR_REDUCTION as i64),
        ("FL_ERR_TARGET", FL_ERR_TARGET as i64),
        ("FL_ERR_STRUCT_SIZE", FL_ERR_STRUCT_SIZE as i64),
        ("FL_ERR_ALIASING", FL_ERR_ALIASING as i64),
    ]
    .into_iter()
    .collect();
    let text = strip_comments(&header());
    let mut header = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["#define", name, value @ ..] = &words[..] {
            if *name == "FOCAL_LOSS_H" {
                continue;
            }
            let value = value.join("");
            let value = value.trim_start_matches('(').trim_end_matches(')');
            let value: i64 = value.parse().unwrap_or_else(|e| panic!("#define {name} {value}: {e}"));
            assert!(header.insert(*name, value).is_none(), "{name} defined twice");
        }
    }
    assert_eq!(header, rust, "the header's #defines differ from the Rust constants");
}

#[test]
#[cfg_attr(miri, ignore = "reads include/focal_loss.h, which Miri's isolation refuses; a text check")]
fn options_struct_matches() {
    let rust = [
        ("struct_size", field(|o| &o.struct_size), offset_of!(FlOptions, struct_size)),
        ("reduction", field(|o| &o.reduction), offset_of!(FlOptions, reduction)),
        ("gamma", field(|o| &o.gamma), offset_of!(FlOptions, gamma)),
        ("alpha", field(|o| &o.alpha), offset_of!(FlOptions, alpha)),
        ("label_smoothing", field(|o| &o.label_smoothing), offset_of!(FlOptions, label_smoothing)),
        ("normalizer", field(|o| &o.normalizer), offset_of!(FlOptions, normalizer)),
        ("ignore_index", field(|o| &o.ignore_index), offset_of!(FlOptions, ignore_index)),
        ("class_alpha", field(|o| &o.class_alpha), offset_of!(FlOptions, class_alpha)),
    ];
    // The list covers every Rust field: laid out by the C rules, its fields land at the Rust
    // offsets and fill the Rust size.
    let (mut end, mut align) = (0usize, 1usize);
    for (name, (_, size, field_align), offset) in &rust {
        let c_offset = end.next_multiple_of(*field_align);
        assert_eq!(c_offset, *offset, "FlOptions::{name}: C layout offset {c_offset}, Rust {offset}");
        end = c_offset + size;
        align = align.max(*field_align);
    }
    assert_eq!(end.next_multiple_of(align), size_of::<FlOptions>(), "FlOptions has fields not listed");
    if cfg!(target_pointer_width = "64") {
        assert_eq!(size_of::<FlOptions>(), 40);
    }

    let text = strip_comments(&header());
    let start = text.find("typedef struct FlOptions {").expect("typedef struct FlOptions { in the header");
    let body = &text[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').expect("end of FlOptions")];
    assert!(text[start..].contains("} FlOptions;"), "FlOptions must be typedef'd as FlOptions");
    let header: Vec<(String, String)> = body
        .split(';')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let (ty, name) = split_declarator(f);
            (name, ty)
        })
        .collect();
    let rust: Vec<(String, String)> =
        rust.iter().map(|(name, (ty, ..), _)| (name.to_string(), ty.clone())).collect();
    assert_eq!(header, rust, "FlOptions in the header differs from the Rust struct (name, type, order)");
}

#[test]
#[cfg_attr(miri, ignore = "reads include/focal_loss.h, which Miri's isolation refuses; a text check")]
fn functions_match() {
    let rust: BTreeMap<String, (String, Vec<String>)> = [
        ("fl_abi_version", signature(fl_abi_version as unsafe extern "C" fn() -> _)),
        ("fl_options_default", signature(fl_options_default as unsafe extern "C" fn() -> _)),
        ("fl_sigmoid_focal", signature(fl_sigmoid_focal as unsafe extern "C" fn(_, _, _, _, _, _, _) -> _)),
        ("fl_softmax_focal", signature(fl_softmax_focal as unsafe extern "C" fn(_, _, _, _, _, _, _) -> _)),
        (
            "fl_softmax_focal_probs",
            signature(fl_softmax_focal_probs as unsafe extern "C" fn(_, _, _, _, _, _, _) -> _),
        ),
        ("fl_status_message", signature(fl_status_message as unsafe extern "C" fn(_) -> _)),
        ("fl_backend", signature(fl_backend as unsafe extern "C" fn() -> _)),
    ]
    .into_iter()
    .map(|(name, sig)| (name.to_string(), sig))
    .collect();

    // Declarations outside the preprocessor lines and the struct.
    let text = strip_comments(&header());
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.contains("extern \"C\"") && l.trim() != "}")
        .collect::<Vec<_>>()
        .join("\n");
    let struct_end = code.find("} FlOptions;").expect("FlOptions") + "} FlOptions;".len();
    let mut header = BTreeMap::new();
    for decl in code[struct_end..].split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let open = decl.find('(').unwrap_or_else(|| panic!("not a function declaration: `{decl}`"));
        let close = decl.rfind(')').unwrap_or_else(|| panic!("no `)` in `{decl}`"));
        let (ret, name) = split_declarator(&decl[..open]);
        let params = decl[open + 1..close].trim();
        let params: Vec<String> = if params == "void" {
            Vec::new()
        } else {
            params.split(',').map(|p| split_declarator(p).0).collect()
        };
        assert!(header.insert(name.clone(), (ret, params)).is_none(), "{name} declared twice");
    }
    assert_eq!(header, rust, "the header's functions differ from the Rust extern \"C\" functions");
}
