module gosrv

go 1.26
