# Runs `stortimer-demo --virtual` twice and fails unless both runs print
# exactly the same: a virtual run is deterministic, its history's system
# times included. Usage: cmake -DDEMO=path -DOUT=dir -P demo_twice.cmake
foreach(run 1 2)
  execute_process(COMMAND ${DEMO} --virtual OUTPUT_FILE ${OUT}/demo_virtual_${run}.txt
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "stortimer-demo --virtual failed (run ${run}): ${status}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/demo_virtual_1.txt
                        ${OUT}/demo_virtual_2.txt RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "two virtual runs of stortimer-demo printed different output")
endif()
