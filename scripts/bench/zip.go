package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The CDK CLI (aws-cdk 2.1148.1, cdk-assets) zips a function's asset folder with yazl: each file
// deflated by Node's zlib at level 6, with a DOS timestamp and no extra fields. For one file
// named "bootstrap" that is the deflated bytes plus 116 bytes of headers (local header 30+9,
// central directory entry 46+9, end record 22), checked against the zips in cdk.out/.cache.
const (
	zipHeaderBytes = 30 + 9 + 46 + 9 + 22
	zipLevel       = 6
)

// How a zip size was measured.
const (
	zipByNode = "node zlib level 6, as the CDK CLI zips"
	zipByGo   = "Go compress/flate level 6 (node not found: about 0.4% larger than the CDK CLI's zip)"
)

// nodeDeflate prints the length of stdin deflated (raw) by Node's zlib at level 6.
const nodeDeflate = `process.stdout.write(String(require("zlib").deflateRawSync(require("fs").readFileSync(0),{level:6}).length))`

// zipSize is the size of the zip the CDK CLI would upload for a folder holding only the
// bootstrap at path: with Node's zlib when node is on PATH (the CDK CLI needs it anyway),
// else with Go's flate at the same level.
func zipSize(ctx context.Context, path string) (int64, string, error) {
	if node, err := exec.LookPath("node"); err == nil {
		f, err := os.Open(path)
		if err != nil {
			return 0, "", err
		}
		defer f.Close()
		cmd := exec.CommandContext(ctx, node, "-e", nodeDeflate)
		cmd.Stdin = f
		out, err := cmd.Output()
		if err == nil {
			n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			if err == nil {
				return n + zipHeaderBytes, zipByNode, nil
			}
		}
	}
	n, err := goZipSize(path)
	return n, zipByGo, err
}

// goZipSize zips the file at path as "bootstrap" with Go's deflate at zipLevel.
func goZipSize(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, zipLevel) })
	f, err := w.Create("bootstrap")
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(data); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("zip %s: %w", path, err)
	}
	return int64(buf.Len()), nil
}
