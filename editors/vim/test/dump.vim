" Writes the syntax group of every column of the current buffer to $NETPOL_SYN_OUT.
" After a line with the filetype plugin's settings, one block per line: the line itself after '> ', then the runs of columns that have a group,
" as 'FIRST-LAST group' (1-based, inclusive). Columns without a group are left out.
function! s:Dump() abort
  " The filetype plugin's settings come first.
  let l:out = ['# commentstring=' . &commentstring . ' iskeyword=' . &iskeyword]
  for l:lnum in range(1, line('$'))
    let l:text = getline(l:lnum)
    call add(l:out, '> ' . l:text)
    let l:runs = []
    let l:start = 0
    let l:prev = ''
    for l:col in range(1, len(l:text) + 1)
      let l:name = l:col <= len(l:text) ? synIDattr(synID(l:lnum, l:col, 1), 'name') : ''
      if l:name !=# l:prev
        if l:prev !=# ''
          call add(l:runs, printf('%d-%d %s', l:start, l:col - 1, l:prev))
        endif
        let l:start = l:col
        let l:prev = l:name
      endif
    endfor
    if !empty(l:runs)
      call add(l:out, '  ' . join(l:runs, ', '))
    endif
  endfor
  call writefile(l:out, $NETPOL_SYN_OUT)
endfunction

if &filetype !=# 'netpol' || get(b:, 'current_syntax', '') !=# 'netpol'
  call writefile(['filetype not detected: filetype=' . &filetype], $NETPOL_SYN_OUT)
else
  call s:Dump()
endif
