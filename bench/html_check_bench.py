#!/usr/bin/env python3
"""Time of the HTML compatibility check on a generated newsletter-like
HTML mail of about 100 KB (tables, inline styles, a <style> sheet with
@media, images, links) and on one of about 1 MB: in process (html_check()
and the JSON printed, bench/html/html_check_time.c, the median of --runs
runs), and the whole `devmail check --html --json FILE` command (start-up,
config, MIME parse included) beside a tiny mail's as the start-up baseline,
and the same for the deliverability lint (`devmail check --lint --json`).
Usage: python3 bench/html_check_bench.py [--bin build/devmail] [--runs 21]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

HEAD = (
    "From: Shop <news@shop.example>\r\nTo: ann@example.com\r\nSubject: Weekly\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\r\n"
    "body{margin:0;padding:0} .wrap{max-width:600px;margin:0 auto}\r\n"
    "a:hover{color:#c00} td.btn{border-radius:4px;background:linear-gradient(#f00,#a00)}\r\n"
    "@media (max-width:600px){.col{display:block !important;width:100% !important}}\r\n"
    "@media (prefers-color-scheme: dark){body{background:#111;color:#eee}}\r\n"
    "</style></head><body><table class=\"wrap\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\">\r\n"
)

ROW = (
    "<tr><td class=\"col\" style=\"padding:12px 16px;font-family:Arial,sans-serif;font-size:14px;"
    "line-height:1.5;color:#333333;background-color:#ffffff\">"
    "<h2 style=\"margin:0 0 8px;font-size:18px;font-weight:bold\">Item {i}</h2>"
    "<p style=\"margin:0\">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    "<a href=\"https://shop.example/p/{i}\" style=\"color:#0066cc;text-decoration:underline\">tempor</a> "
    "incididunt.</p></td><td class=\"col\" width=\"180\" valign=\"top\">"
    "<img src=\"https://shop.example/i/{i}.png\" width=\"160\" height=\"120\" alt=\"Item {i}\" "
    "style=\"display:block;border:0;max-width:100%\"></td></tr>\r\n"
)

TAIL = "</table></body></html>\r\n"


def mail(size):
    i = 0
    body = HEAD
    while len(body) + len(TAIL) < size:
        body += ROW.replace("{i}", str(i))
        i += 1
    return body + TAIL


def median_ms(cmd, runs, check=True):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        # the lint's exit status is its worst finding's severity
        subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/devmail")
    ap.add_argument("--runs", type=int, default=21)
    a = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    subprocess.run(["make", "-s", "build/bench/html_check_time"], cwd=root, check=True)
    timer = os.path.join(root, "build/bench/html_check_time")
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, size in (("tiny", 200), ("100KB", 100 * 1024), ("1MB", 1024 * 1024)):
            p = os.path.join(d, name + ".eml")
            with open(p, "w") as f:
                f.write(mail(size) if name != "tiny" else HEAD + TAIL)
            paths[name] = p
            if name != "tiny":
                h = os.path.join(d, name + ".html")
                with open(h, "w") as f:
                    f.write(mail(size).split("\r\n\r\n", 1)[1])
                out = subprocess.run([timer, h, str(a.runs)], check=True, capture_output=True, text=True)
                print("html-check in process, %s HTML: %s" % (name, out.stdout.strip()))
        base = median_ms([a.bin, "check", "--html", "--json", paths["tiny"]], a.runs)
        print("devmail check --html, tiny mail (start-up baseline): %.1f ms" % base)
        for name in ("100KB", "1MB"):
            ms = median_ms([a.bin, "check", "--html", "--json", paths[name]], a.runs)
            print("devmail check --html, %s HTML mail (%d bytes): %.1f ms (%.1f ms above the baseline)"
                  % (name, os.path.getsize(paths[name]), ms, ms - base))
        base = median_ms([a.bin, "check", "--lint", "--json", paths["tiny"]], a.runs, check=False)
        print("devmail check --lint, tiny mail (start-up baseline): %.1f ms" % base)
        for name in ("100KB", "1MB"):
            ms = median_ms([a.bin, "check", "--lint", "--json", paths[name]], a.runs, check=False)
            print("devmail check --lint, %s HTML mail (%d bytes): %.1f ms (%.1f ms above the baseline)"
                  % (name, os.path.getsize(paths[name]), ms, ms - base))


if __name__ == "__main__":
    main()
