// Package hfdir reads the files of a Hugging Face model directory that
// every loader needs: config.json and other small files with a size limit
// (ReadLimited, ReadConfig, used by hf, hfbart and tokenizer), and for the
// GPT-2 and BERT loaders one model.safetensors, with one clear error for
// each missing file and for the sharded and PyTorch-pickle layouts those
// loaders do not read (hf reads shards itself). The architecture packages
// interpret what it returns.
package hfdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/safetensors"
)

// MaxConfigBytes bounds a config.json read by Read and Open.
const MaxConfigBytes = 64 << 20

// File names inside a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Read returns the bytes of dir's config.json and its parsed
// model.safetensors. The errors say which file is missing (without the
// directory, which the caller adds).
func Read(dir string) ([]byte, *safetensors.File, error) {
	cj, wpath, err := paths(dir)
	if err != nil {
		return nil, nil, err
	}
	f, err := safetensors.Read(wpath)
	if err != nil {
		return nil, nil, err
	}
	return cj, f, nil
}

// Open is Read with model.safetensors opened for reading tensor by tensor
// (its header read and checked; close the Reader when done).
func Open(dir string) ([]byte, *safetensors.Reader, error) {
	cj, wpath, err := paths(dir)
	if err != nil {
		return nil, nil, err
	}
	r, err := safetensors.Open(wpath)
	if err != nil {
		return nil, nil, err
	}
	return cj, r, nil
}

// paths reads config.json and finds model.safetensors.
func paths(dir string) ([]byte, string, error) {
	cj, err := ReadConfig(dir, MaxConfigBytes)
	if err != nil {
		return nil, "", err
	}
	wpath := filepath.Join(dir, WeightsFile)
	if !Exists(wpath) {
		switch {
		case Exists(filepath.Join(dir, WeightsFile+".index.json")):
			return nil, "", errors.New("sharded checkpoints (model.safetensors.index.json) are not supported: tformer reads one model.safetensors (save_pretrained with a max_shard_size above the model's size writes one)")
		case Exists(filepath.Join(dir, "pytorch_model.bin")):
			return nil, "", errors.New("only model.safetensors is read, and this directory has pytorch_model.bin (PyTorch's pickle format); re-save it with save_pretrained(dir, safe_serialization=True)")
		}
		return nil, "", fmt.Errorf("no %s in the directory", WeightsFile)
	}
	return cj, wpath, nil
}

// ReadLimited reads a small file (a config, an index, a tokenizer),
// refusing one larger than limit bytes before reading it when its size is
// known, and after limit+1 bytes when it is not (a pipe).
func ReadLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d accepted", filepath.Base(path), fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is more than the %d bytes accepted", filepath.Base(path), limit)
	}
	return b, nil
}

// ReadConfig reads dir's config.json (at most limit bytes), saying so in one
// line when the directory has none.
func ReadConfig(dir string, limit int64) ([]byte, error) {
	b, err := ReadLimited(filepath.Join(dir, ConfigFile), limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s in the directory", ConfigFile)
	}
	return b, err
}

// Exists reports whether a file (or directory) exists at p.
func Exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
