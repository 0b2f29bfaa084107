/// Line charts as standalone SVG files (loss and metric curves of a run).
module Hybrid.Wsss.Reports.Curves

open System
open System.Globalization
open System.Text

let private f (v: float) = v.ToString("F2", CultureInfo.InvariantCulture)

/// An SVG line chart of (x, y) series with axes labelled by their ranges.
let svg (title: string) (xLabel: string) (series: (string * (float * float) list) list) : string =
    let w, h, m = 640.0, 360.0, 50.0
    let pts = series |> List.collect snd
    let sb = StringBuilder()
    sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">") |> ignore
    sb.Append($"<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/><text x=\"{m}\" y=\"20\" font-size=\"14\">{Security.SecurityElement.Escape title}</text>") |> ignore
    if not pts.IsEmpty then
        let xs, ys = pts |> List.map fst, pts |> List.map snd |> List.filter (fun y -> not (Double.IsNaN y || Double.IsInfinity y))
        let x0, x1 = List.min xs, max (List.max xs) (List.min xs + 1e-9)
        let y0, y1 = (if ys.IsEmpty then 0.0 else List.min ys), (if ys.IsEmpty then 1.0 else max (List.max ys) (List.min ys + 1e-9))
        let px x = m + (x - x0) / (x1 - x0) * (w - 2.0 * m)
        let py y = h - m - (y - y0) / (y1 - y0) * (h - 2.0 * m)
        sb.Append($"<line x1=\"{m}\" y1=\"{h - m}\" x2=\"{w - m}\" y2=\"{h - m}\" stroke=\"black\"/><line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{h - m}\" stroke=\"black\"/>") |> ignore
        sb.Append($"<text x=\"{m}\" y=\"{h - m + 16.0}\">{f x0}</text><text x=\"{w - m}\" y=\"{h - m + 16.0}\" text-anchor=\"end\">{f x1}</text><text x=\"{w / 2.0}\" y=\"{h - 10.0}\" text-anchor=\"middle\">{xLabel}</text>") |> ignore
        sb.Append($"<text x=\"{m - 4.0}\" y=\"{h - m}\" text-anchor=\"end\">{f y0}</text><text x=\"{m - 4.0}\" y=\"{m + 4.0}\" text-anchor=\"end\">{f y1}</text>") |> ignore
        let colours = [| "#1f77b4"; "#d62728"; "#2ca02c"; "#ff7f0e"; "#9467bd"; "#8c564b" |]
        series |> List.iteri (fun i (name, s) ->
            let c = colours[i % colours.Length]
            let path = s |> List.filter (fun (_, y) -> not (Double.IsNaN y)) |> List.map (fun (x, y) -> $"{f (px x)},{f (py y)}") |> String.concat " "
            sb.Append($"<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{path}\"/>") |> ignore
            sb.Append($"<text x=\"{w - m}\" y=\"{m + 14.0 * float i}\" text-anchor=\"end\" fill=\"{c}\">{Security.SecurityElement.Escape name}</text>") |> ignore)
    sb.Append("</svg>") |> ignore
    sb.ToString()
