//go:build !unix

package hfdir

import "errors"

func mkfifo(string) error { return errors.New("not supported") }
