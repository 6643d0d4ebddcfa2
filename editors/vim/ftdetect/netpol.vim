" .netpol files: the netpol connectivity language.
autocmd BufNewFile,BufRead *.netpol setfiletype netpol
