// Shared by the test pages: the page's own behaviour, which goalpost must never break.
window.pageClicks = 0;
document.addEventListener('click', (e) => {
  if (e.target.closest('#own')) window.pageClicks += 1;
});
