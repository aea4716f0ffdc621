module github.com/tformer/tformer

go 1.26.8
