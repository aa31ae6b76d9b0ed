# Renders gossip_sim's CSV (--csv FILE or --plot FILE.png) as a PNG: mean age,
# mean per-board maximum age, and gossip traffic per node against the number
# of nodes, one colour per window size; lines are the model
# (gossip/AgeModel.h), points the simulator.
#
#   gnuplot -e "csv='ages.csv'; out='ages.png'" tests/sim/plot_gossip.gp
#
# Optional: windows="4 8 20" restricts the window sizes drawn.

if (!exists("csv")) csv = "gossip_ages.csv"
if (!exists("out")) out = "gossip_ages.png"
if (!exists("windows")) windows = "4 8 10 16 20 64 256"
# Per window on the wire: UDP/IPv4 headers and the common/Frame.h header.
overhead = 28 + 12
period_s = 1.0

set datafile separator ","
set terminal pngcairo size 1500,500 font ",10"
set output out
set multiplot layout 1,3 title "Gossip bulletin board: model (lines) and simulation (points), period 1 s"
set logscale xy
set xlabel "nodes N"
set grid
set key top left

is(kind, w) = (strcol(1) eq kind && $3 == w)
W(i) = word(windows, i) + 0

set ylabel "mean age (periods)"
plot for [i=1:words(windows)] csv every ::1 using (is("model", W(i)) ? $2 : NaN):4 \
       with lines lc i lw 2 title sprintf("w=%d", W(i)), \
     for [i=1:words(windows)] csv every ::1 using (is("measured", W(i)) ? $2 : NaN):4 \
       with points pt 7 ps 1.3 lc i notitle

set ylabel "oldest entry of a board, mean (periods)"
plot for [i=1:words(windows)] csv every ::1 using (is("model", W(i)) ? $2 : NaN):5 \
       with lines lc i lw 2 title sprintf("w=%d", W(i)), \
     for [i=1:words(windows)] csv every ::1 using (is("measured", W(i)) ? $2 : NaN):5 \
       with points pt 7 ps 1.3 lc i notitle

set ylabel "gossip sent per node (bytes/s)"
plot for [i=1:words(windows)] csv every ::1 \
       using (is("model", W(i)) ? $2 : NaN):(($6 + overhead) / period_s) \
       with lines lc i lw 2 title sprintf("w=%d", W(i))

unset multiplot
