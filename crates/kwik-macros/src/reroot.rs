//! Paths in generated code through the `kwik` facade: when the crate using a derive depends on
//! `kwik` (found in its Cargo.toml with proc-macro-crate), every absolute path to one of the
//! crates the facade re-exports (`::kwik_crud::X`, `::poem_openapi::X`, `::serde::X`, ...) becomes
//! `::kwik::__private::kwik_crud::X`, and serde derives are told where serde is, so the user's
//! Cargo.toml needs `kwik` alone. Without `kwik` (a user of the individual crates) nothing
//! changes.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;

/// The crates `kwik::__private` re-exports, as generated code names them.
const REEXPORTED: [&str; 10] = [
    "kwik_core",
    "kwik_crud",
    "kwik_listing",
    "kwik_http",
    "poem_openapi",
    "poem",
    "serde",
    "serde_json",
    "sea_query",
    "sqlx",
];

/// The name the using crate gives the facade, when it depends on it.
fn facade() -> Option<Ident> {
    match crate_name("kwik") {
        Ok(FoundCrate::Name(name)) => Some(Ident::new(&name, Span::call_site())),
        // Inside the facade's own tests and doctests, which see it as `kwik`.
        Ok(FoundCrate::Itself) => Some(Ident::new("kwik", Span::call_site())),
        Err(_) => None,
    }
}

/// `tokens` with its absolute paths routed through the facade, when the using crate has one.
pub fn through_facade(tokens: TokenStream) -> TokenStream {
    match facade() {
        Some(root) => reroot(tokens, &root),
        None => tokens,
    }
}

fn reroot(tokens: TokenStream, root: &Ident) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        // `::name` at the start of a path (not `a::name`): `::` then a re-exported crate.
        if let (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)), Some(TokenTree::Ident(name))) =
            (trees.get(i), trees.get(i + 1), trees.get(i + 2))
            && first.as_char() == ':'
            && first.spacing() == Spacing::Joint
            && second.as_char() == ':'
            && REEXPORTED.iter().any(|c| name == c)
            && !continues_a_path(out.last())
        {
            out.extend(quote!(::#root::__private::#name));
            i += 3;
            continue;
        }
        match &trees[i] {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), reroot(group.stream(), root));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
                // `#[derive(..., ::serde::Deserialize)]`: tell serde's output where serde is.
                if group.delimiter() == Delimiter::Bracket && derives_serde(&group.stream()) {
                    let path = format!("::{root}::__private::serde");
                    out.push(TokenTree::Punct(Punct::new('#', Spacing::Alone)));
                    out.push(TokenTree::Group(Group::new(Delimiter::Bracket, quote!(serde(crate = #path)))));
                }
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// Whether the token before `::` makes it the middle of a path (`__private::serde`,
/// `crate::sqlx`) rather than its start: an identifier does, unless it is a keyword (`impl ::x`,
/// `for ::x`, `as ::x`, `dyn ::x`).
fn continues_a_path(previous: Option<&TokenTree>) -> bool {
    const KEYWORDS: [&str; 31] = [
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "fn", "for", "if",
        "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct",
        "trait", "type", "unsafe", "use", "where",
    ];
    matches!(previous, Some(TokenTree::Ident(ident)) if !KEYWORDS.iter().any(|k| ident == k))
}

/// Whether an attribute's content is a `derive(...)` naming a serde derive.
fn derives_serde(attribute: &TokenStream) -> bool {
    let mut trees = attribute.clone().into_iter();
    let is_derive = matches!(trees.next(), Some(TokenTree::Ident(ident)) if ident == "derive");
    let Some(TokenTree::Group(list)) = trees.next() else { return false };
    is_derive && list.stream().to_string().contains("serde")
}
