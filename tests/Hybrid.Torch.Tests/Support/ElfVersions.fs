/// A reader of an ELF64 little-endian shared library's symbol-version tables, written apart from
/// eng/GlibcxxMarkerPatch.cs so the tests check its edits with other code: the version needs
/// (.gnu.version_r: which file, which version name, flags, index) and each dynamic symbol's
/// version index (.gnu.version).
module Hybrid.Torch.Tests.ElfVersions

open System
open System.Text

let private u16 (d: byte[]) (i: int64) = int d[int i] ||| (int d[int i + 1] <<< 8)
let private u32 (d: byte[]) (i: int64) = uint32 (u16 d i) ||| (uint32 (u16 d (i + 2L)) <<< 16)
let private u64 (d: byte[]) (i: int64) = uint64 (u32 d i) ||| (uint64 (u32 d (i + 4L)) <<< 32)

let private cstr (d: byte[]) (i: int64) =
    let mutable e = int i
    while d[e] <> 0uy do e <- e + 1
    Encoding.ASCII.GetString(d, int i, e - int i)

type Section = { Type: uint32; Offset: int64; Size: int64; Link: int }

let private sections (d: byte[]) =
    if d.Length < 64 || d[0] <> 0x7fuy || d[1] <> byte 'E' || d[2] <> byte 'L' || d[3] <> byte 'F' || d[4] <> 2uy || d[5] <> 1uy then
        invalidArg "d" "not an ELF64 little-endian file"
    let shoff = int64 (u64 d 0x28L)
    let entsize = int64 (u16 d 0x3AL)
    let num = u16 d 0x3CL
    [ for i in 0 .. num - 1 ->
        let h = shoff + int64 i * entsize
        { Type = u32 d (h + 4L); Offset = int64 (u64 d (h + 24L)); Size = int64 (u64 d (h + 32L)); Link = int (u32 d (h + 40L)) } ]

let private find (d: byte[]) (t: uint32) =
    match sections d |> List.tryFind (fun s -> s.Type = t) with
    | Some s -> s
    | None -> failwithf "no section of type 0x%x" t

let private shtDynsym = 11u
let private shtVerneed = 0x6ffffffeu
let private shtVersym = 0x6fffffffu

/// One version a library needs from another file; FlagsOffset is where its flags are stored.
type Need = { File: string; Name: string; Flags: int; Index: int; FlagsOffset: int64 }

let VerFlgWeak = 0x2

/// Every version-need entry, in file order.
let needs (d: byte[]) : Need list =
    let all = sections d
    let vr = find d shtVerneed
    let strtab = all[vr.Link].Offset
    [ let mutable vn = vr.Offset
      let mutable more = true
      while more do
          let cnt = u16 d (vn + 2L)
          let file = cstr d (strtab + int64 (u32 d (vn + 4L)))
          let mutable aux = vn + int64 (u32 d (vn + 8L))
          for _ in 1 .. cnt do
              yield { File = file; Name = cstr d (strtab + int64 (u32 d (aux + 8L))); Flags = u16 d (aux + 4L); Index = u16 d (aux + 6L); FlagsOffset = aux + 4L }
              aux <- aux + int64 (u32 d (aux + 12L))
          let next = u32 d (vn + 12L)
          if next = 0u then more <- false else vn <- vn + int64 next ]

/// A dynamic symbol: its name, its version index (hidden bit removed) and where that is stored.
type Symbol = { Name: string; Version: int; VersionOffset: int64 }

/// Every dynamic symbol with its version index.
let symbols (d: byte[]) : Symbol list =
    let all = sections d
    let dynsym = find d shtDynsym
    let dynstr = all[dynsym.Link].Offset
    let versym = find d shtVersym
    [ for i in 0L .. dynsym.Size / 24L - 1L ->
        let name = cstr d (dynstr + int64 (u32 d (dynsym.Offset + 24L * i)))
        let at = versym.Offset + 2L * i
        { Name = name; Version = u16 d at &&& 0x7fff; VersionOffset = at } ]

/// The symbol of that name (the first, if several).
let symbol (d: byte[]) (name: string) : Symbol =
    match symbols d |> List.tryFind (fun s -> s.Name = name) with
    | Some s -> s
    | None -> failwithf "no dynamic symbol %s" name

/// The need entry of that version name.
let need (d: byte[]) (name: string) : Need =
    match needs d |> List.tryFind (fun n -> n.Name = name) with
    | Some n -> n
    | None -> failwithf "no version need %s" name

let write16 (d: byte[]) (at: int64) (v: int) =
    d[int at] <- byte (v &&& 0xff)
    d[int at + 1] <- byte ((v >>> 8) &&& 0xff)
