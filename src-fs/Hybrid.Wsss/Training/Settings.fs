namespace Hybrid.Wsss.Training

open System
open System.Globalization

/// What a setting's value looks like: for help, docs/cli.md, and the typed JSON value that
/// run.json and config files hold.
type SettingType =
    /// true / false (also on / off, yes / no, 1 / 0)
    | Flag
    | Integer
    | Number
    /// one of these names
    | Choice of names: string list
    /// comma-separated numbers
    | Numbers
    /// any other text, its form described (e.g. "steps or a fraction of the run")
    | Text of form: string

module SettingType =
    let describe =
        function
        | Flag -> "true|false"
        | Integer -> "int"
        | Number -> "float"
        | Choice names -> String.Join("|", names)
        | Numbers -> "floats, comma separated"
        | Text form -> form

/// A bad `--set` key or value, or settings that do not fit together: an ArgumentException (as
/// any other bad argument) whose message says what to fix (the valid keys, the expected form,
/// the allowed range).
[<AutoOpen>]
module SettingsErrors =
    let SettingsError (message: string) = ArgumentException message

/// One row of a method's settings table: the key a user types, a one-line doc, the value's
/// type, where in the paper it comes from, how it reads and shows a config's value. 'C is the
/// method's typed config.
type Setting<'C> =
    { Name: string
      Doc: string
      Type: SettingType
      /// the paper's place for it ("Tab. 3 GC", "Eq. 6", "Sec. 4.1"), or "" for ours
      Paper: string
      /// the value in a config, as a user would type it
      Show: 'C -> string
      /// the config with this setting's value from text; Error says what was expected
      Apply: string -> 'C -> Result<'C, string> }

/// The settings table of a method: defaults, one row per key, and the checks across keys.
type SettingsTable<'C> =
    { Method: string
      Defaults: 'C
      Rows: Setting<'C> list
      /// problems of a whole config (ranges and combinations); empty when it is valid
      Validate: 'C -> string list }

/// What a method's settings table offers without its config type: the registry, the CLI's
/// help, docs/cli.md and run.json use this view.
type SettingInfo =
    { Name: string
      Doc: string
      Type: SettingType
      Default: string
      Paper: string }

type SettingsSchema =
    { Method: string
      Rows: SettingInfo list
      /// The given key/value pairs with each key in the table's spelling, checked as a whole
      /// (every key known, every value parses, the config valid); the error lists every problem.
      Check: (string * string) list -> Result<(string * string) list, string list>
      /// Every setting's value for the given pairs (defaults filled in), for run.json and reports.
      Resolve: (string * string) list -> (string * string) list }

/// Range checks for rows (None: fine; Some: the rule, as the error says it).
module Check =
    /// Any value is in range.
    let none (_: 'T) : string option = None
    let atLeast (lo: int) (x: int) = if x >= lo then None else Some $"must be >= {lo}"
    let positive (x: float) = if x > 0.0 then None else Some "must be > 0"
    let nonNegative (x: float) = if x >= 0.0 then None else Some "must be >= 0"
    /// in [0, 1]
    let unitInterval (x: float) = if x >= 0.0 && x <= 1.0 then None else Some "must lie in [0, 1]"
    /// in (0, 1)
    let openUnit (x: float) = if x > 0.0 && x < 1.0 then None else Some "must lie in (0, 1)"
    let oneOf (allowed: int list) (x: int) =
        if List.contains x allowed then None else Some $"""must be one of {String.Join(", ", allowed)}"""

/// Builders of settings-table rows: each parses its type, checks its range and reads / writes
/// one field of the config through get / set.
module Setting =
    let private inv = CultureInfo.InvariantCulture

    let parseFlag (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "true" | "on" | "yes" | "1" -> Ok true
        | "false" | "off" | "no" | "0" -> Ok false
        | _ -> Error "not true or false (on/off)"

    let parseInt (v: string) =
        match Int32.TryParse(v.Trim(), NumberStyles.Integer, inv) with
        | true, x -> Ok x
        | _ -> Error "not an integer"

    /// A finite number (NaN and infinities are refused: no setting wants them).
    let parseFloat (v: string) =
        match Double.TryParse(v.Trim(), NumberStyles.Float, inv) with
        | true, x when Double.IsFinite x -> Ok x
        | true, _ -> Error "not a finite number"
        | _ -> Error "not a number"

    let parseFloats (v: string) =
        let parts = v.Split([| ','; ' ' |], StringSplitOptions.RemoveEmptyEntries)
        if parts.Length = 0 then Error "not a list of numbers (comma separated)"
        else
            let parsed = parts |> Array.map parseFloat
            match parsed |> Array.tryPick (function Error e -> Some e | Ok _ -> None) with
            | Some e -> Error $"an item is {e}"
            | None -> Ok(parsed |> Array.map (function Ok x -> x | Error _ -> nan) |> List.ofArray)

    let showFloat (x: float) = x.ToString("R", inv)
    let showInt (x: int) = x.ToString(inv)
    let showFlag (b: bool) = if b then "true" else "false"
    let showFloats (xs: float list) = xs |> List.map showFloat |> String.concat ","

    /// A row from a parser and a printer of any value type, with an optional range check.
    let custom name typ doc paper (parse: string -> Result<'T, string>) (show: 'T -> string) (check: 'T -> string option) (get: 'C -> 'T) (set: 'T -> 'C -> 'C) : Setting<'C> =
        { Name = name
          Doc = doc
          Type = typ
          Paper = paper
          Show = get >> show
          Apply =
            fun text c ->
                match parse text with
                | Error e -> Error e
                | Ok v ->
                    match check v with
                    | Some problem -> Error problem
                    | None -> Ok(set v c) }

    let flag name doc paper get set = custom name Flag doc paper parseFlag showFlag Check.none get set
    let int name doc paper check get set = custom name Integer doc paper parseInt showInt check get set
    let float name doc paper check get set = custom name Number doc paper parseFloat showFloat check get set
    let floats name doc paper check get set = custom name Numbers doc paper parseFloats showFloats check get set

    /// An integer or a keyword meaning "none" (e.g. `auto`, `all`, `none`), with a lower bound.
    let optionalInt name (keyword: string) doc paper (lo: int) (get: 'C -> int option) (set: int option -> 'C -> 'C) : Setting<'C> =
        custom name (Text $"int|{keyword}") doc paper
            (fun v -> if v.Trim().ToLowerInvariant() = keyword then Ok None else parseInt v |> Result.map Some)
            (function Some n -> showInt n | None -> keyword)
            (function Some n when n < lo -> Some $"must be >= {lo} or {keyword}" | _ -> None)
            get set

    /// One of named cases (case-insensitive). A case may have several names (aliases): its
    /// first is how it shows and the one help lists.
    let choice name doc paper (cases: (string * 'T) list) (get: 'C -> 'T) (set: 'T -> 'C -> 'C) : Setting<'C> =
        let names = cases |> List.distinctBy snd |> List.map fst
        let parse (v: string) =
            match cases |> List.tryFind (fun (n, _) -> n = v.Trim().ToLowerInvariant()) with
            | Some(_, x) -> Ok x
            | None -> Error $"""not one of {String.Join(", ", names)}"""
        let show (x: 'T) =
            match cases |> List.tryFind (fun (_, c) -> c = x) with
            | Some(n, _) -> n
            | None -> sprintf "%A" x
        custom name (Choice names) doc paper parse show Check.none get set

    /// The row of a part of a larger config (e.g. CoSA's table inside CoSA-MS'), under a
    /// prefix ("seg." for a stage's settings) or none ("").
    let within (prefix: string) (get: 'P -> 'C) (set: 'C -> 'P -> 'P) (s: Setting<'C>) : Setting<'P> =
        { Name = prefix + s.Name
          Doc = s.Doc
          Type = s.Type
          Paper = s.Paper
          Show = get >> s.Show
          Apply = fun text p -> s.Apply text (get p) |> Result.map (fun c -> set c p) }

module SettingsTable =
    /// A key as users may write it: case, surrounding space and the '-' / '_' separator ignored
    /// (`new-layer-lr`, `New_Layer_LR` and `new_layer_lr` are one key).
    let keyForm (key: string) = key.Trim().ToLowerInvariant().Replace('_', '-')

    let private find (t: SettingsTable<'C>) (key: string) =
        t.Rows |> List.tryFind (fun r -> keyForm r.Name = keyForm key)

    let private unknownKey (t: SettingsTable<'C>) (key: string) =
        let valid = t.Rows |> List.map (fun r -> r.Name) |> String.concat ", "
        $"'{key}' is not a setting of {t.Method} (its settings: {valid}; `hybrid settings {t.Method}` explains each)"

    /// The config of the given pairs (applied in order over the defaults), or every problem:
    /// unknown keys, values that do not parse or are out of range, a config that does not hold
    /// together.
    let tryBuild (t: SettingsTable<'C>) (pairs: (string * string) list) : Result<'C, string list> =
        let c, problems =
            pairs
            |> List.fold
                (fun (c, problems) (k, v) ->
                    match find t k with
                    | None -> c, unknownKey t k :: problems
                    | Some row ->
                        match row.Apply v c with
                        | Ok c' -> c', problems
                        | Error e -> c, $"{row.Name}={v}: {e}" :: problems)
                (t.Defaults, [])
        match List.rev problems with
        | [] ->
            match t.Validate c with
            | [] -> Ok c
            | ps -> Error(ps |> List.map (fun p -> $"{t.Method} settings: {p}"))
        | ps -> Error ps

    /// The config of pairs that must be valid (raises SettingsError listing the problems).
    let build (t: SettingsTable<'C>) (pairs: (string * string) list) : 'C =
        match tryBuild t pairs with
        | Ok c -> c
        | Error ps -> raise (SettingsError(String.concat "; " ps))

    /// One key set on a config (for code and tests that set keys one at a time): the key must
    /// be known and the value parse and lie in its range; the checks across keys are left to
    /// `validate` (or `build`), so keys may come in any order.
    let set (t: SettingsTable<'C>) (key: string) (value: string) (c: 'C) : 'C =
        match find t key with
        | None -> raise (SettingsError(unknownKey t key))
        | Some row ->
            match row.Apply value c with
            | Error e -> raise (SettingsError $"{t.Method}: {row.Name}={value}: {e}")
            | Ok c' -> c'

    /// The config when it holds together, else SettingsError listing every problem.
    let validate (t: SettingsTable<'C>) (c: 'C) : 'C =
        match t.Validate c with
        | [] -> c
        | ps -> raise (SettingsError($"{t.Method} settings: " + String.concat "; " ps))

    /// Every setting's value in a config, in table order.
    let show (t: SettingsTable<'C>) (c: 'C) : (string * string) list = t.Rows |> List.map (fun r -> r.Name, r.Show c)

    /// The table without its config type.
    let schema (t: SettingsTable<'C>) : SettingsSchema =
        { Method = t.Method
          Rows = t.Rows |> List.map (fun r -> { Name = r.Name; Doc = r.Doc; Type = r.Type; Default = r.Show t.Defaults; Paper = r.Paper })
          Check =
            fun pairs ->
                tryBuild t pairs
                |> Result.map (fun _ -> pairs |> List.map (fun (k, v) -> (find t k |> Option.get).Name, v.Trim()))
          Resolve = fun pairs -> show t (build t pairs) }

    /// The same table under another method's name (a method that reuses another's settings).
    let named (methodName: string) (t: SettingsTable<'C>) = { t with Method = methodName }
